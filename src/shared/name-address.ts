import type { AppState, IngressNameView } from "./app-state.js";
import { HOST_NAME } from "./dns-names.js";

export interface NameEndpoint {
  readonly port: number;
  readonly protocol: IngressNameView["ports"][number]["protocol"];
  /** What "copy" puts on the clipboard: the URL, or `host:port` for TLS passthrough; null when the name is not here. */
  readonly copy: string | null;
  /** Offered as "Open in browser": an http(s) port of a name that resolves here and whose listener is up. */
  readonly url: string | null;
  /** Forward mode: the port's listener on this machine, when it is not simply listening. */
  readonly state?: IngressNameView["ports"][number]["state"];
}

/** One entry per port of a name (docs/architecture.md, "Ingress and Gateway names"), as the tray and the window offer it. */
export function nameEndpoints(name: IngressNameView): NameEndpoint[] {
  // Only a name that resolves here, is one name (no wildcard) and is a plain DNS name goes into a URL.
  const usable = name.mapped && !name.wildcard && HOST_NAME.test(name.host);
  return name.ports.map((p) => {
    const up = usable && (p.state === undefined || p.state === "listening");
    const scheme = p.protocol === "http" ? "http" : "https";
    const standard = p.port === (scheme === "http" ? 80 : 443);
    const url = up && p.protocol !== "tls" ? `${scheme}://${name.host}${standard ? "" : `:${p.port}`}/` : null;
    return {
      port: p.port,
      protocol: p.protocol,
      copy: up ? (url ?? `${name.host}:${p.port}`) : null,
      url,
      ...(p.state && p.state !== "listening" ? { state: p.state } : {}),
    };
  });
}

/** Every name of a profile the state shows: Ingress hosts, then Gateway hostnames. */
export function namesOf(
  profile: AppState["profiles"][number],
): { kind: "Ingress" | "Gateway"; name: IngressNameView }[] {
  return [
    ...(profile.ingresses ?? []).map((name) => ({ kind: "Ingress" as const, name })),
    ...(profile.gateways ?? []).map((name) => ({ kind: "Gateway" as const, name })),
  ];
}

/** The URL of one port of a name the state shows; null when there is none to open. Main opens nothing else. */
export function nameUrl(state: AppState, ref: { profile: string; host: string; port: number }): string | null {
  const profile = state.profiles.find((p) => p.profile === ref.profile);
  if (!profile) return null;
  for (const { name } of namesOf(profile)) {
    if (name.host !== ref.host) continue;
    const url = nameEndpoints(name).find((e) => e.port === ref.port)?.url;
    if (url) return url;
  }
  return null;
}

/** Whether `url` is one the state offers for a name (the tray hands main a URL; main checks it against its state). */
export function isNameUrl(state: AppState, url: string): boolean {
  return state.profiles.some((p) => namesOf(p).some(({ name }) => nameEndpoints(name).some((e) => e.url === url)));
}
