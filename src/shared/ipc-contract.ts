import { z } from "zod";
import { isValidProfileName } from "./profile-name.js";
import { appStateSchema } from "./app-state.js";
import { preferencesSchema } from "./preferences.js";

/**
 * The one typed channel map between the renderer (through the preload) and
 * main. Every request is validated in main against `request`; answers follow
 * `response`. Nothing else crosses the boundary.
 */
const profile = z.string().refine(isValidProfileName, "invalid profile name");

export const ipcChannels = {
  "state:get": { request: z.tuple([]), response: appStateSchema },
  "tunnel:start": { request: z.tuple([profile]), response: z.void() },
  "tunnel:stop": { request: z.tuple([profile]), response: z.void() },
  "tunnels:cleanup": { request: z.tuple([]), response: z.object({ removed: z.number(), released: z.number(), failures: z.array(z.string()) }) },
  "clipboard:copy": { request: z.tuple([z.string().max(300)]), response: z.void() },
  "logs:get": { request: z.tuple([z.number().int().min(1).max(5000)]), response: z.array(z.string()) },
  "prefs:get": { request: z.tuple([]), response: preferencesSchema },
  /** The window may change every preference but the minikube binary, which it may only clear: see prefs:choose-minikube. */
  "prefs:set": { request: z.tuple([preferencesSchema]), response: preferencesSchema },
  /** Main asks the user with the OS file dialog, so a compromised page cannot point the app at a program of its choice. */
  "prefs:choose-minikube": { request: z.tuple([]), response: preferencesSchema },
  /** Only http(s) addresses of Services; anything else could launch a local program through the OS. */
  "url:open": { request: z.tuple([z.url({ protocol: /^https?$/ }).max(300)]), response: z.void() },
  /** Quit from the window too: on GNOME without AppIndicator there is no tray to quit from. */
  "app:quit": { request: z.tuple([]), response: z.void() },
} as const;

export type IpcChannel = keyof typeof ipcChannels;
export type IpcRequest<C extends IpcChannel> = z.infer<(typeof ipcChannels)[C]["request"]>;
export type IpcResponse<C extends IpcChannel> = z.infer<(typeof ipcChannels)[C]["response"]>;

/** Main → renderer pushes. */
export const STATE_CHANGED = "state:changed";
export const SHOW_VIEW = "view:show";

export const VIEWS = ["tunnels", "conflicts", "services", "logs", "preferences"] as const;
export type ViewName = (typeof VIEWS)[number];

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
export function validateIpcCall<C extends IpcChannel>(channel: C, senderUrl: string | undefined, args: unknown[]): IpcRequest<C> {
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
    throw new IpcRejection(`refused ${channel}: argument ${issue?.path.join(".") || ""} ${issue?.message ?? "invalid"}`.replace(/\s+/g, " "));
  }
  return parsed.data as IpcRequest<C>;
}
