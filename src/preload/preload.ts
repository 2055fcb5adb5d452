import { contextBridge, ipcRenderer, type IpcRendererEvent } from "electron";
import { IPC_METHODS, IPC_PUSHES } from "../shared/ipc-channels.js";
import type { TunnelApi } from "../shared/ipc-contract.js";

/**
 * `window.tunnel`, built from the channel map: one method per channel that
 * invokes it, one subscription per push. ipcRenderer itself never reaches the
 * page, and main validates every argument again. Sandboxed preloads cannot
 * load modules, so this file is bundled to one CommonJS file; it takes only
 * the schema-free half of the contract.
 */
const methods = Object.entries(IPC_METHODS).map(
  ([channel, method]) => [method, (...args: unknown[]) => ipcRenderer.invoke(channel, ...args)] as const,
);
const subscriptions = Object.entries(IPC_PUSHES).map(
  ([channel, method]) =>
    [
      method,
      (listener: (value: unknown) => void) => {
        const wrapped = (_event: IpcRendererEvent, value: unknown) => listener(value);
        ipcRenderer.on(channel, wrapped);
        return () => ipcRenderer.removeListener(channel, wrapped);
      },
    ] as const,
);

contextBridge.exposeInMainWorld(
  "tunnel",
  Object.freeze(Object.fromEntries([...methods, ...subscriptions])) as TunnelApi,
);
