import { z } from "zod";
import { isValidProfileName } from "./profile-name.js";
import { appStateSchema } from "./app-state.js";
import { IPC_METHODS, IPC_PUSHES, type IpcChannel, type IpcPush } from "./ipc-channels.js";
import { accessModeChoice, preferencesSchema } from "./preferences.js";

/**
 * The schemas of the channel map (ipc-channels.ts names the channels and
 * their methods): main checks every request against them, and its own
 * answers. The renderer's API type is derived from both; nothing is
 * written twice.
 */
const profile = z.string().refine(isValidProfileName, "invalid profile name");

/** A Service port to open in the browser. Main builds the URL from its own state: the page never hands it a URL. */
export const serviceRefSchema = z.strictObject({
  profile,
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(63),
  port: z.number().int().min(1).max(65535),
});
export type ServiceRef = z.infer<typeof serviceRefSchema>;

/** A port of an Ingress or Gateway name to open in the browser; main builds the URL from its own state, as for Services. */
export const nameRefSchema = z.strictObject({
  profile,
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535),
});
export type NameRef = z.infer<typeof nameRefSchema>;

export const ipcChannels = {
  "state:get": { request: z.tuple([]), response: appStateSchema },
  "tunnel:start": { request: z.tuple([profile]), response: z.void() },
  "tunnel:stop": { request: z.tuple([profile]), response: z.void() },
  /** How the profile is reached (saved in Preferences); a running tunnel restarts in the new mode. */
  "profile:set-mode": { request: z.tuple([profile, accessModeChoice]), response: z.void() },
  "tunnels:cleanup": {
    request: z.tuple([]),
    response: z.object({ removed: z.number(), released: z.number(), failures: z.array(z.string()) }),
  },
  "clipboard:copy": { request: z.tuple([z.string().max(300)]), response: z.void() },
  "logs:get": { request: z.tuple([z.number().int().min(1).max(5000)]), response: z.array(z.string()) },
  "prefs:get": { request: z.tuple([]), response: preferencesSchema },
  /**
   * The window may change every preference but the minikube binary, which it may only clear: see prefs:choose-minikube.
   */
  "prefs:set": { request: z.tuple([preferencesSchema]), response: preferencesSchema },
  /**
   * Main asks the user with the OS file dialog, so a compromised page cannot point the app at a program of its choice.
   */
  "prefs:choose-minikube": { request: z.tuple([]), response: preferencesSchema },
  /** Opens a Service's own http(s) address, looked up by main; no other URL can be opened from the page. */
  "service:open": { request: z.tuple([serviceRefSchema]), response: z.void() },
  /** Opens an Ingress host or Gateway hostname that resolves here, looked up by main like a Service's address. */
  "name:open": { request: z.tuple([nameRefSchema]), response: z.void() },
  /** The installed network helper: whether it is there, running, and which version. */
  "helper:status": {
    request: z.tuple([]),
    response: z.object({ installed: z.boolean(), running: z.boolean(), version: z.string().nullable() }),
  },
  /** Installs the helper once (one password prompt), so that no Start asks again. */
  "helper:install": { request: z.tuple([]), response: z.void() },
  /** Quit from the window too: on GNOME without AppIndicator there is no tray to quit from. */
  "app:quit": { request: z.tuple([]), response: z.void() },
} as const satisfies Record<IpcChannel, { request: z.ZodType; response: z.ZodType }>;

export const VIEWS = ["tunnels", "conflicts", "services", "logs", "preferences"] as const;
export type ViewName = (typeof VIEWS)[number];

export const ipcPushes = {
  "state:changed": { payload: appStateSchema },
  "view:show": { payload: z.enum(VIEWS) },
} as const satisfies Record<IpcPush, { payload: z.ZodType }>;

export type IpcRequest<C extends IpcChannel> = z.infer<(typeof ipcChannels)[C]["request"]>;
export type IpcResponse<C extends IpcChannel> = z.infer<(typeof ipcChannels)[C]["response"]>;
export type { IpcChannel, IpcPush };

export const STATE_CHANGED = "state:changed" satisfies IpcPush;
export const SHOW_VIEW = "view:show" satisfies IpcPush;

/** `window.tunnel`, derived from the maps: one promise-returning method per channel, one subscription per push. */
export type TunnelApi = {
  readonly [C in IpcChannel as (typeof IPC_METHODS)[C]]: (...args: IpcRequest<C>) => Promise<IpcResponse<C>>;
} & {
  readonly [P in IpcPush as (typeof IPC_PUSHES)[P]]: (
    listener: (value: z.infer<(typeof ipcPushes)[P]["payload"]>) => void,
  ) => () => void;
};

export function isIpcChannel(name: string): name is IpcChannel {
  return Object.hasOwn(ipcChannels, name);
}

export class IpcRejection extends Error {}

/** The origin our windows load from (a custom protocol); anything else is a foreign frame. */
export const APP_ORIGIN = "app://minikube-tunnel";

/**
 * Main's gate for every `ipcMain.handle`: the sender frame must be ours and
 * the arguments must match the channel's schema. Returns the parsed arguments.
 */
export function validateIpcCall<C extends IpcChannel>(
  channel: C,
  senderUrl: string | undefined,
  args: unknown[],
): IpcRequest<C> {
  if (!isIpcChannel(channel)) throw new IpcRejection(`unknown channel ${String(channel)}`);
  let origin: string;
  try {
    const url = new URL(senderUrl ?? "");
    origin = `${url.protocol}//${url.host}`;
  } catch {
    throw new IpcRejection(`refused ${channel}: sender has no valid URL`);
  }
  if (origin !== APP_ORIGIN) throw new IpcRejection(`refused ${channel}: sender origin ${origin} is not ${APP_ORIGIN}`);
  const parsed = ipcChannels[channel].request.safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IpcRejection(
      `refused ${channel}: argument ${issue?.path.join(".") || ""} ${issue?.message ?? "invalid"}`.replace(/\s+/g, " "),
    );
  }
  return parsed.data as IpcRequest<C>;
}
