import type { AppState, ServiceView } from "./app-state.js";
import { isValidIp } from "./cidr.js";

const HTTP_PORTS = new Set([80, 8080, 8000, 3000, 5000, 443, 8443]);

export interface ServiceEndpoint {
  readonly port: number;
  readonly protocol: string;
  /** `ip:port`, with IPv6 in brackets; null while the Service has no external IP. */
  readonly address: string | null;
  /** Offered as "Open in browser" for TCP ports that look like HTTP(S). */
  readonly url: string | null;
  /** Forward mode: the port's listener on this machine, when it is not simply listening. */
  readonly forward?: ServiceView["ports"][number]["forward"];
}

/** One entry per port: what the tray and the Services view offer to copy or open. */
export function serviceEndpoints(service: ServiceView): ServiceEndpoint[] {
  // Only an address: an external IP's "ip" is whatever a Service's status says, and must not smuggle a host name or a path
  // into a URL.
  const ip = service.externalIps.find((i) => i.ip && isValidIp(i.ip))?.ip;
  const host = ip ? (ip.includes(":") ? `[${ip}]` : ip) : null;
  return service.ports.map((port) => {
    // In forward mode only a listening port can be reached: no Copy or Open for the others.
    const reachable = !port.forward || port.forward.state === "listening";
    const address = host && reachable ? `${host}:${port.port}` : null;
    const http = port.protocol === "TCP" && (HTTP_PORTS.has(port.port) || /^https?$/.test(port.name ?? ""));
    const scheme = port.port === 443 || port.port === 8443 || port.name === "https" ? "https" : "http";
    return {
      port: port.port,
      protocol: port.protocol,
      address,
      url: address && http ? `${scheme}://${address}/` : null,
      ...(port.forward ? { forward: port.forward } : {}),
    };
  });
}

/** The http(s) address of one port of a Service the state shows; null when there is none to open. */
export function serviceUrl(
  state: AppState,
  ref: { profile: string; namespace: string; name: string; port: number },
): string | null {
  const service = state.profiles
    .find((p) => p.profile === ref.profile)
    ?.services.find((s) => s.namespace === ref.namespace && s.name === ref.name);
  return (service && serviceEndpoints(service).find((e) => e.port === ref.port)?.url) ?? null;
}

/**
 * What main hands to the OS browser: http(s) to an IP literal, no
 * credentials. Anything else (file:, a host name, user:pw@) is refused even
 * if it came from our own state.
 */
export function isServiceUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return (
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.username === "" &&
    url.password === "" &&
    isValidIp(host)
  );
}
