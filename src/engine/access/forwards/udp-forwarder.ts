import { type Socket, createSocket } from "node:dgram";
import { isIPv6 } from "node:net";

/** Where a flow's datagrams go: resolved when the flow starts, so a relay that moved is found by the next flow. */
export interface UdpTarget {
  resolve(): Promise<{ readonly host: string; readonly port: number }>;
  /**
   * A flow's upstream at `port` was refused (ICMP port unreachable: nothing listens there any more); the next flow
   * should not get the same answer. An older port's late refusal says nothing of a newer one.
   */
  unreachable(port: number): void;
}

/**
 * How long a flow with no datagram either way keeps its upstream socket: as long as docker-proxy keeps its own
 * flows (90 s), less a margin, so the two forget a flow at about the same time.
 */
export const UDP_FLOW_IDLE_MS = 60_000;
/**
 * Flows one listener keeps at most: each is a socket of this process, and any local program can open flows from new
 * source ports (a resolver does, one a query). Past it, the flow quiet the longest goes.
 */
export const MAX_UDP_FLOWS = 1024;
/** Datagrams that arrive while a new flow's upstream socket is being made wait, up to this many per flow. */
const MAX_QUEUED_PER_FLOW = 64;
/** …and all flows of one listener together hold at most this many bytes waiting (datagrams can be 64 KiB each). */
export const MAX_QUEUED_BYTES = 256 * 1024;

interface Flow {
  readonly key: string;
  readonly client: { readonly address: string; readonly port: number };
  upstream: Socket | null;
  /** Datagrams from the client while the upstream socket is not connected yet. */
  queued: Buffer[] | null;
  lastSeen: number;
}

export function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(address) ? "udp6" : "udp4", reuseAddr: false });
    const onError = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once("error", onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

/**
 * One UDP port on a Service's loopback address (docs/architecture.md,
 * "Forward mode", UDP): each client (address and port) is a flow with an
 * upstream socket of its own, connected to the relay's published port, so the
 * answers go back to whoever asked and datagrams keep their boundaries end to
 * end (nothing on the path is a byte stream). A flow is forgotten after
 * UDP_FLOW_IDLE_MS without a datagram.
 */
export class UdpForwarder {
  private readonly flows = new Map<string, Flow>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  /** The last failure logged: a failing relay is said once, not once per flow. */
  private lastFailure = "";
  /** Bytes of datagrams waiting for their flows' upstream sockets. */
  private queuedBytes = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly target: UdpTarget,
    private readonly log: (line: string) => void,
    private readonly idleMs: number,
    private readonly maxFlows: number,
  ) {
    socket.on("message", (data, from) => this.fromClient(data, from));
    socket.on("error", (error) => this.log(`UDP listener on ${this.where()} failed: ${error.message}`));
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, idleMs / 4));
    this.sweeper.unref();
  }

  /** Listens on address:port (0: a free port); rejects as bind does (EADDRINUSE, EACCES). */
  static async listen(
    address: string,
    port: number,
    target: UdpTarget,
    log: (line: string) => void,
    limits: { readonly idleMs?: number; readonly maxFlows?: number } = {},
  ): Promise<UdpForwarder> {
    const { idleMs = UDP_FLOW_IDLE_MS, maxFlows = MAX_UDP_FLOWS } = limits;
    return new UdpForwarder(await bindUdp(address, port), target, log, idleMs, maxFlows);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Bytes of datagrams waiting for their flows' upstream sockets. */
  get waitingBytes(): number {
    return this.queuedBytes;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const flow of this.flows.values()) this.endFlow(flow);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private where(): string {
    const { address, port } = this.socket.address();
    return `${address.includes(":") ? `[${address}]` : address}:${port}`;
  }

  private fromClient(data: Buffer, from: { address: string; port: number }): void {
    const key = `${from.address}|${from.port}`;
    let flow = this.flows.get(key);
    if (!flow) {
      if (this.flows.size >= this.maxFlows) this.endQuietest();
      flow = { key, client: { address: from.address, port: from.port }, upstream: null, queued: [], lastSeen: 0 };
      this.flows.set(key, flow);
      void this.open(flow);
    }
    flow.lastSeen = performance.now();
    // Most recently used last: the first flow in the map is the one quiet the longest.
    this.flows.delete(key);
    this.flows.set(key, flow);
    if (flow.upstream) return void flow.upstream.send(data);
    // Past the queue's room a datagram is lost, as a network would lose it.
    if (flow.queued && flow.queued.length < MAX_QUEUED_PER_FLOW && this.queuedBytes + data.length <= MAX_QUEUED_BYTES) {
      flow.queued.push(data);
      this.queuedBytes += data.length;
    }
  }

  private async open(flow: Flow): Promise<void> {
    let upstream: Socket | null = null;
    let target: { readonly host: string; readonly port: number };
    try {
      target = await this.target.resolve();
      upstream = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
      const socket = upstream;
      socket.on("error", () => undefined);
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.connect(target.port, target.host, () => (socket.off("error", reject), resolve()));
      });
    } catch (error) {
      upstream?.close();
      // The datagrams of this flow so far are lost, as a network would lose them; the next one tries again.
      this.unqueue(flow);
      if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
      const failure = `UDP on ${this.where()}: cannot reach the relay: ${(error as Error).message}`;
      if (failure !== this.lastFailure) this.log(failure);
      this.lastFailure = failure;
      return;
    }
    this.lastFailure = "";
    if (this.closed || this.flows.get(flow.key) !== flow) {
      this.unqueue(flow);
      return void upstream.close();
    }
    upstream.on("message", (data) => {
      flow.lastSeen = performance.now();
      this.socket.send(data, flow.client.port, flow.client.address);
    });
    // A relay that went away answers with ICMP port unreachable, which a connected socket reports as ECONNREFUSED: a
    // new flow then resolves the relay again. Other errors end only this flow.
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (this.flows.get(flow.key) !== flow) return;
      this.endFlow(flow);
      if (error.code === "ECONNREFUSED") this.target.unreachable(target.port);
    });
    flow.upstream = upstream;
    for (const data of this.unqueue(flow)) upstream.send(data);
  }

  private unqueue(flow: Flow): Buffer[] {
    const queued = flow.queued ?? [];
    flow.queued = null;
    for (const data of queued) this.queuedBytes -= data.length;
    return queued;
  }

  private endFlow(flow: Flow): void {
    this.unqueue(flow);
    if (this.flows.get(flow.key) === flow) this.flows.delete(flow.key);
    const upstream = flow.upstream;
    flow.upstream = null;
    try {
      upstream?.close();
    } catch {
      // closed already
    }
  }

  /** Ends every flow: their next datagram starts a new one, which resolves the target again. */
  endFlows(): void {
    for (const flow of [...this.flows.values()]) this.endFlow(flow);
  }

  private endQuietest(): void {
    const quietest = this.flows.values().next().value;
    if (quietest) this.endFlow(quietest);
  }

  private sweep(): void {
    const now = performance.now();
    for (const flow of [...this.flows.values()])
      if (flow.upstream && now - flow.lastSeen > this.idleMs) this.endFlow(flow);
  }
}
