import type { Page } from "playwright-core";
import type { AppState } from "../../src/shared/app-state.js";
import { DEFAULT_PREFERENCES, type Preferences } from "../../src/shared/preferences.js";

export interface FakeApiOptions {
  readonly state: AppState;
  readonly preferences?: Preferences;
  readonly logs?: string[];
  /** Calls to these methods reject with this message, as main's validation would. */
  readonly failures?: Record<string, string>;
}

/**
 * Stands in for the preload's `window.tunnel` in a plain browser: same
 * methods (TunnelApi, derived from the channel map), records each call in
 * `window.__calls`, and lets the test push a new state the way main does.
 */
export async function installFakeTunnelApi(page: Page, options: FakeApiOptions): Promise<void> {
  // Under tsx (the bench), esbuild's keepNames wraps named functions in __name(); page code has no such helper.
  await page.addInitScript({ content: "globalThis.__name = globalThis.__name || ((f) => f);" });
  await page.addInitScript(
    (opts) => {
      const calls: unknown[][] = [];
      let state = opts.state;
      let prefs = opts.preferences;
      const stateListeners = new Set<(s: unknown) => void>();
      const viewListeners = new Set<(v: unknown) => void>();
      const record = async (name: string, ...args: unknown[]) => {
        calls.push([name, ...args]);
        const failure = opts.failures?.[name];
        if (failure) throw new Error(failure);
      };
      const w = globalThis as unknown as Record<string, unknown>;
      w.__calls = calls;
      w.__pushState = (next: typeof state) => {
        state = next;
        for (const l of stateListeners) l(next);
      };
      w.__showView = (view: string) => {
        for (const l of viewListeners) l(view);
      };
      w.tunnel = Object.freeze({
        getState: async () => (await record("getState"), state),
        start: (profile: string) => record("start", profile),
        stop: (profile: string) => record("stop", profile),
        setMode: (profile: string, mode: string) => record("setMode", profile, mode),
        cleanup: async () => (await record("cleanup"), { removed: 2, released: 1, failures: [] }),
        copy: (text: string) => record("copy", text),
        openService: (ref: unknown) => record("openService", ref),
        getLogs: async (limit: number) => (await record("getLogs", limit), opts.logs ?? []),
        getPreferences: async () => (await record("getPreferences"), prefs),
        setPreferences: async (next: typeof prefs) => {
          await record("setPreferences", next);
          prefs = next;
          return next;
        },
        chooseMinikube: async () => {
          await record("chooseMinikube");
          prefs = { ...prefs!, minikubePath: "/usr/local/bin/minikube" };
          return prefs;
        },
        helperStatus: async () => (await record("helperStatus"), { installed: false, running: false, version: null }),
        installHelper: () => record("installHelper"),
        quit: () => record("quit"),
        onState: (listener: (s: unknown) => void) => (
          stateListeners.add(listener),
          () => stateListeners.delete(listener)
        ),
        onShowView: (listener: (v: unknown) => void) => (
          viewListeners.add(listener),
          () => viewListeners.delete(listener)
        ),
      });
    },
    { ...options, preferences: options.preferences ?? DEFAULT_PREFERENCES },
  );
}

export async function callsOf(page: Page): Promise<unknown[][]> {
  return page.evaluate(() =>
    (globalThis as unknown as { __calls: unknown[][] }).__calls.filter(
      (c) => c[0] !== "getState" && c[0] !== "getLogs" && c[0] !== "getPreferences" && c[0] !== "helperStatus",
    ),
  );
}
