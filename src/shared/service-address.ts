import type { ServiceView } from "./app-state.js";

const HTTP_PORTS = new Set([80, 8080, 8000, 3000, 5000, 443, 8443]);

export interface ServiceEndpoint {
  readonly port: number;
  readonly protocol: string;
  /** `ip:port`, with IPv6 in brackets; null while the Service has no external IP. */
  readonly address: string | null;
  /** Offered as "Open in browser" for TCP ports that look like HTTP(S). */
  readonly url: string | null;
}

/** One entry per port: what the tray and the Services view offer to copy or open. */
export function serviceEndpoints(service: ServiceView): ServiceEndpoint[] {
  const ip = service.ingress.find((i) => i.ip)?.ip;
  const host = ip ? (ip.includes(":") ? `[${ip}]` : ip) : null;
  return service.ports.map((port) => {
    const address = host ? `${host}:${port.port}` : null;
    const http = port.protocol === "TCP" && (HTTP_PORTS.has(port.port) || /^https?$/.test(port.name ?? ""));
    const scheme = port.port === 443 || port.port === 8443 || port.name === "https" ? "https" : "http";
    return { port: port.port, protocol: port.protocol, address, url: address && http ? `${scheme}://${address}/` : null };
  });
}
