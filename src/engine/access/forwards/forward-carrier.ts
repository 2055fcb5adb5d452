/** A listener that carries each connection it accepts to a target on the node's side. */
export interface CarriedListener {
  /** The port it listens on (the one asked for, or the free one picked for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * What carries forwarded connections over the profile's SSH link
 * (docs/architecture.md, "Forward mode"): our own listeners feeding ssh2
 * channels or `ssh -D`'s SOCKS port, or OpenSSH's master listening itself.
 */
export interface ForwardCarrier {
  /** True when a listener's target is fixed once it opens: a Service whose target changes gets a new listener. */
  readonly fixedTarget: boolean;
  /** Listens on address:port (0: any free port); rejects as net.Server.listen does (EADDRINUSE, EACCES). */
  listen(
    address: string,
    port: number,
    target: () => { readonly host: string; readonly port: number },
  ): Promise<CarriedListener>;
}
