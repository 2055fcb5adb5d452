/**
 * The IPC channels and the `window.tunnel` method each becomes. This half of
 * the contract carries no schemas, so the sandboxed preload can build the
 * whole API from it without bundling zod; ipc-contract.ts gives every channel
 * here its schemas, and the compiler refuses a channel that is in one map and
 * not the other.
 */
export const IPC_METHODS = {
  "state:get": "getState",
  "tunnel:start": "start",
  "tunnel:stop": "stop",
  "profile:set-mode": "setMode",
  "tunnels:cleanup": "cleanup",
  "clipboard:copy": "copy",
  "logs:get": "getLogs",
  "prefs:get": "getPreferences",
  "prefs:set": "setPreferences",
  "prefs:choose-minikube": "chooseMinikube",
  "service:open": "openService",
  "name:open": "openName",
  "helper:status": "helperStatus",
  "helper:install": "installHelper",
  "app:quit": "quit",
} as const;

/** Main → renderer pushes, each a `window.tunnel.on…` subscription. */
export const IPC_PUSHES = {
  "state:changed": "onState",
  "view:show": "onShowView",
} as const;

export type IpcChannel = keyof typeof IPC_METHODS;
export type IpcPush = keyof typeof IPC_PUSHES;
