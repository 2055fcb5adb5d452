import type { AppState } from "./app-state.js";
import type { IpcResponse, ViewName } from "./ipc-contract.js";
import type { Preferences } from "./preferences.js";

/**
 * `window.tunnel`: everything the renderer may ask of main, and nothing else
 * (DESIGN §2). The preload implements it over the channel map.
 */
export interface TunnelApi {
  getState(): Promise<AppState>;
  start(profile: string): Promise<void>;
  stop(profile: string): Promise<void>;
  cleanup(): Promise<IpcResponse<"tunnels:cleanup">>;
  copy(text: string): Promise<void>;
  openUrl(url: string): Promise<void>;
  getLogs(limit: number): Promise<string[]>;
  getPreferences(): Promise<Preferences>;
  setPreferences(preferences: Preferences): Promise<Preferences>;
  chooseMinikube(): Promise<Preferences>;
  quit(): Promise<void>;
  /** Returns an unsubscribe function. */
  onState(listener: (state: AppState) => void): () => void;
  onShowView(listener: (view: ViewName) => void): () => void;
}
