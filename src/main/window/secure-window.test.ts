import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BrowserWindow } from "electron";
import { describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../shared/content-security-policy.js";
import { uiResponseHeaders } from "./app-protocol.js";
import {
  assertSecureWebPreferences,
  createSecureWindow,
  isAllowedNavigation,
  SECURE_WEB_PREFERENCES,
  secureWindowOptions,
} from "./secure-window.js";

/** Records what a BrowserWindow would be given, and the handlers set on its webContents. */
class RecordingWindow {
  static created: RecordingWindow[] = [];
  readonly handlers = new Map<string, (...args: unknown[]) => void>();
  openHandler: (() => { action: string }) | null = null;
  readonly webContents = {
    on: (event: string, handler: (...args: unknown[]) => void) => this.handlers.set(event, handler),
    setWindowOpenHandler: (handler: () => { action: string }) => (this.openHandler = handler),
  };
  constructor(readonly options: Record<string, unknown>) {
    RecordingWindow.created.push(this);
  }
}

describe("every window is secure (docs/security.md)", () => {
  it("windows get contextIsolation, sandbox, no nodeIntegration, a preload, and nothing weaker", () => {
    const options = secureWindowOptions("/app/preload.cjs");
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      preload: "/app/preload.cjs",
    });
    expect(() => assertSecureWebPreferences(options.webPreferences)).not.toThrow();
    for (const [key, bad] of [
      ["contextIsolation", false],
      ["sandbox", false],
      ["nodeIntegration", true],
      ["webSecurity", false],
      ["webviewTag", true],
      ["nodeIntegrationInSubFrames", true],
    ] as const) {
      expect(() => assertSecureWebPreferences({ ...options.webPreferences, [key]: bad }), key).toThrow(
        new RegExp(`webPreferences.${key}`),
      );
      expect(() => assertSecureWebPreferences({ ...options.webPreferences, [key]: undefined }), `${key} unset`).toThrow(
        new RegExp(`webPreferences.${key}`),
      );
    }
    expect(() => assertSecureWebPreferences({ ...SECURE_WEB_PREFERENCES })).toThrow(/no preload/);
  });

  it("createSecureWindow blocks navigation away from app://, new windows and webviews", () => {
    const window = createSecureWindow(
      RecordingWindow as unknown as typeof BrowserWindow,
      "/app/preload.cjs",
    ) as unknown as RecordingWindow;
    expect(window.options.webPreferences).toMatchObject(SECURE_WEB_PREFERENCES);
    expect(window.openHandler?.()).toEqual({ action: "deny" });
    const prevented = (event: string, url?: string) => {
      let blocked = false;
      window.handlers.get(event)!({ preventDefault: () => (blocked = true) }, url);
      return blocked;
    };
    expect(prevented("will-navigate", "https://evil.example/")).toBe(true);
    expect(prevented("will-navigate", "file:///etc/passwd")).toBe(true);
    expect(prevented("will-navigate", "app://minikube-tunnel/index.html#logs")).toBe(false);
    expect(prevented("will-redirect", "http://127.0.0.1:8080/")).toBe(true);
    expect(prevented("will-attach-webview")).toBe(true);
    expect(isAllowedNavigation("app://minikube-tunnel.evil/")).toBe(false);
  });

  it("the UI is only ever served with the CSP", () => {
    expect(uiResponseHeaders("text/html")["Content-Security-Policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'none'/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it("no code anywhere else creates a BrowserWindow or sets webPreferences", async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (
          /\.(ts|tsx)$/.test(entry.name) &&
          !entry.name.endsWith(".test.ts") &&
          !path.endsWith(join("main", "window", "secure-window.ts"))
        ) {
          const text = await readFile(path, "utf8");
          if (/new\s+BrowserWindow\s*\(|new\s+BrowserView\s*\(|WebContentsView\s*\(|webPreferences\s*:/.test(text))
            offenders.push(path);
        }
      }
    };
    await walk(join(import.meta.dirname, "..", ".."));
    expect(offenders).toEqual([]);
  });
});
