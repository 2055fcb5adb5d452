import type { Socket } from "node:net";
import { SocksClient } from "socks";

export class Socks5Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Socks5Error";
  }
}

export interface Socks5Options {
  /** How long the proxy may take over its replies. */
  readonly timeoutMs?: number;
}

/**
 * Opens a connection to `target` through the SOCKS5 proxy at `proxy`
 * (RFC 1928: no authentication, CONNECT; `socks`, a maintained client, does
 * the protocol) and hands it over once the proxy granted the CONNECT, with
 * anything the target already sent still to come. A callback rather than a
 * promise: this is every forwarded connection's path, where each microtask
 * is latency.
 */
export function socks5Connect(
  proxy: { readonly host: string; readonly port: number },
  target: { readonly host: string; readonly port: number },
  done: (error: Error | undefined, socket?: Socket) => void,
  options: Socks5Options = {},
): void {
  const what = `SOCKS5 CONNECT to ${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
  if (!Number.isInteger(target.port) || target.port < 0 || target.port > 65_535)
    return done(new Socks5Error(`${what}: not a port`));
  SocksClient.createConnection(
    {
      proxy: { host: proxy.host, port: proxy.port, type: 5 },
      command: "connect",
      destination: { host: target.host, port: target.port },
      timeout: options.timeoutMs ?? 10_000,
      set_tcp_nodelay: true,
    },
    (error, info) => {
      if (error || !info) return done(new Socks5Error(`${what}: ${error?.message ?? "no connection"}`));
      done(undefined, info.socket);
    },
  );
}
