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

/** What carries a UDP port (udp-relays.ts): SSH carries byte streams, which would merge datagrams. */
export interface UdpCarrier {
  /** Listens on the spec's address and port; rejects as bind does, or with why the port cannot be carried. */
  listen(spec: {
    readonly address: string;
    readonly port: number;
    readonly protocol: string;
    readonly nodePort?: number;
  }): Promise<CarriedListener>;
  /** Why a port of this protocol (and node port) is not carried at all, or null. */
  refusal(spec: { readonly protocol: string; readonly nodePort?: number }): string | null;
  /** Takes away what a killed tunnel of this profile left (the caller holds the profile's lock); says what went. */
  sweep(): Promise<string[]>;
  /** Takes away everything this carrier made (a stop). */
  removeAll(): Promise<void>;
  /** The node is gone: what stands beside it goes too, and comes back with the next datagram. */
  nodeGone(): Promise<void>;
}
