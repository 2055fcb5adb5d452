import { readFile } from "node:fs/promises";
import { runInNewContext } from "node:vm";

/**
 * Electron's preload-side API (contextBridge, ipcRenderer) as a sandboxed
 * preload sees it, following the documented behaviour: `exposeInMainWorld`
 * puts a value on the page's window, `invoke` sends to main and returns its
 * promise, `on`/`removeListener` manage push listeners. The preload bundle
 * runs in a fresh context whose only module is "electron", as in the sandbox.
 */
export async function loadPreload(bundle: string) {
  const window: Record<string, unknown> = {};
  const invoked: unknown[][] = [];
  const listeners = new Map<string, Set<(event: unknown, value: unknown) => void>>();
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => void (window[key] = value) },
    ipcRenderer: {
      invoke: (channel: string, ...args: unknown[]) => (
        invoked.push([channel, ...args]),
        Promise.resolve(`answer to ${channel}`)
      ),
      on: (channel: string, listener: (event: unknown, value: unknown) => void) =>
        void (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel)!).add(listener),
      removeListener: (channel: string, listener: (event: unknown, value: unknown) => void) =>
        void listeners.get(channel)?.delete(listener),
    },
  };
  const module = { exports: {} };
  runInNewContext(await readFile(bundle, "utf8"), {
    module,
    exports: module.exports,
    require: (name: string) => {
      if (name === "electron") return electron;
      throw new Error(`a sandboxed preload cannot require "${name}"`);
    },
  });
  return {
    window,
    invoked,
    push: (channel: string, value: unknown) => listeners.get(channel)?.forEach((l) => l({}, value)),
    listeners,
  };
}
