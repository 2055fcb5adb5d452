import type { BrowserWindow, BrowserWindowConstructorOptions, WebContents, WebPreferences } from "electron";
import { APP_ORIGIN } from "../../shared/ipc-contract.js";

/** The only webPreferences a window of ours may have (docs/security.md, "The tray app (Electron)"). */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  experimentalFeatures: false,
  navigateOnDragDrop: false,
  spellcheck: false,
} as const satisfies WebPreferences;

export class InsecureWindowError extends Error {}

/** Throws unless every security-relevant preference is exactly ours and a preload is set. */
export function assertSecureWebPreferences(preferences: WebPreferences | undefined): void {
  if (!preferences) throw new InsecureWindowError("window has no webPreferences");
  for (const [key, wanted] of Object.entries(SECURE_WEB_PREFERENCES)) {
    const actual = (preferences as Record<string, unknown>)[key];
    if (actual !== wanted)
      throw new InsecureWindowError(`window webPreferences.${key} is ${String(actual)}, must be ${String(wanted)}`);
  }
  if (!preferences.preload) throw new InsecureWindowError("window has no preload: the UI would have no API");
}

export function secureWindowOptions(
  preload: string,
  extra: Omit<BrowserWindowConstructorOptions, "webPreferences"> = {},
): BrowserWindowConstructorOptions {
  return {
    width: 960,
    height: 680,
    minWidth: 640,
    minHeight: 420,
    show: false,
    title: "Minikube Tunnel",
    ...extra,
    webPreferences: { ...SECURE_WEB_PREFERENCES, preload },
  };
}

/** The only navigation allowed is within our own origin; new windows and webviews never. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

type Hardenable = Pick<WebContents, "on" | "setWindowOpenHandler">;

export function hardenWebContents(contents: Hardenable): void {
  contents.setWindowOpenHandler(() => ({ action: "deny" }));
  contents.on("will-navigate", (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on("will-redirect", (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on("will-attach-webview", (event) => event.preventDefault());
}

/** Every window is made here (a test fails on any other `new BrowserWindow`). */
export function createSecureWindow(
  Window: typeof BrowserWindow,
  preload: string,
  extra: Omit<BrowserWindowConstructorOptions, "webPreferences"> = {},
): BrowserWindow {
  const options = secureWindowOptions(preload, extra);
  assertSecureWebPreferences(options.webPreferences);
  const window = new Window(options);
  hardenWebContents(window.webContents);
  return window;
}
