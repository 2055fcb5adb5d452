import { BrowserWindow } from "electron";
import type { AppState } from "../../shared/app-state.js";
import { APP_ORIGIN, SHOW_VIEW, STATE_CHANGED, type ViewName } from "../../shared/ipc-contract.js";
import { createSecureWindow } from "./secure-window.js";

/**
 * The one main window (tunnels, conflicts, services, logs, preferences are views in it) and the quit progress window.
 */
export class AppWindows {
  private main: BrowserWindow | null = null;
  private progress: BrowserWindow | null = null;

  constructor(private readonly preload: string) {}

  show(view: ViewName): void {
    if (!this.main || this.main.isDestroyed()) {
      const window = createSecureWindow(BrowserWindow, this.preload);
      this.main = window;
      window.on("closed", () => (this.main = null));
      window.once("ready-to-show", () => window.show());
      void window.loadURL(`${APP_ORIGIN}/index.html#${view}`);
      return;
    }
    this.main.webContents.send(SHOW_VIEW, view);
    if (this.main.isMinimized()) this.main.restore();
    this.main.show();
    this.main.focus();
  }

  pushState(state: AppState): void {
    if (this.main && !this.main.isDestroyed()) this.main.webContents.send(STATE_CHANGED, state);
  }

  /** Shown only when quitting takes longer than a moment. */
  showQuitProgress(): void {
    if (this.progress) return;
    this.progress = createSecureWindow(BrowserWindow, this.preload, {
      width: 380,
      height: 140,
      minWidth: 380,
      minHeight: 140,
      resizable: false,
      minimizable: false,
      maximizable: false,
      closable: false,
      alwaysOnTop: true,
      title: "Minikube Tunnel",
    });
    this.progress.once("ready-to-show", () => this.progress?.show());
    void this.progress.loadURL(`${APP_ORIGIN}/index.html#quitting`);
  }

  hideQuitProgress(): void {
    this.progress?.destroy();
    this.progress = null;
  }
}
