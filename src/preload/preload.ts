import { contextBridge, ipcRenderer, type IpcRendererEvent } from "electron";
import type { AppState } from "../shared/app-state.js";
import type { IpcChannel, ViewName } from "../shared/ipc-contract.js";
import type { Preferences } from "../shared/preferences.js";
import type { TunnelApi } from "../shared/tunnel-api.js";

/**
 * `window.tunnel`: narrow functions over the channel map; ipcRenderer itself
 * never reaches the page. Main validates every argument again. Sandboxed
 * preloads cannot load modules, so this file is bundled to one CommonJS file
 * and imports only types from src/shared.
 */
const invoke = <T>(channel: IpcChannel, ...args: unknown[]) => ipcRenderer.invoke(channel, ...args) as Promise<T>;

function subscribe<T>(channel: "state:changed" | "view:show", listener: (value: T) => void): () => void {
  const wrapped = (_event: IpcRendererEvent, value: T) => listener(value);
  ipcRenderer.on(channel, wrapped);
  return () => ipcRenderer.removeListener(channel, wrapped);
}

const api: TunnelApi = {
  getState: () => invoke("state:get"),
  start: (profile) => invoke("tunnel:start", profile),
  stop: (profile) => invoke("tunnel:stop", profile),
  cleanup: () => invoke("tunnels:cleanup"),
  copy: (text) => invoke("clipboard:copy", text),
  openUrl: (url) => invoke("url:open", url),
  getLogs: (limit) => invoke("logs:get", limit),
  getPreferences: () => invoke<Preferences>("prefs:get"),
  setPreferences: (preferences) => invoke<Preferences>("prefs:set", preferences),
  chooseMinikube: () => invoke<Preferences>("prefs:choose-minikube"),
  quit: () => invoke("app:quit"),
  onState: (listener) => subscribe<AppState>("state:changed", listener),
  onShowView: (listener) => subscribe<ViewName>("view:show", listener),
};

contextBridge.exposeInMainWorld("tunnel", api);
