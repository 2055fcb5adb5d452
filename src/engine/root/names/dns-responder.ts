import { type Socket as UdpSocket, createSocket } from "node:dgram";
import { type Server, type Socket, createServer } from "node:net";
import { MAX_QUERY, type WildcardZone } from "./wildcard-zone.js";

/** TCP clients at once: resolved opens one per query it retries over TCP; more is someone flooding root. */
const MAX_TCP_CONNECTIONS = 32;
/**
 * A TCP client that sends nothing for this long, or reads none of its answers, is dropped (RFC 7766 lets a server close
 * idle connections).
 */
const TCP_IDLE_MS = 5_000;
/** Queries answered in one turn of the event loop for one TCP client: the others, and UDP, get theirs between. */
const QUERIES_PER_TURN = 16;
/** Answers queued for a TCP client that does not read them; beyond this it is dropped. */
const MAX_TCP_PENDING = 64 * 1024;
/** A TCP answer has no UDP limit (RFC 7766), but this responder's are never near it. */
const MAX_TCP_REPLY = 65_535;

/**
 * Root's DNS responder for wildcard Ingress and Gateway names (docs/architecture.md, "Ingress and Gateway names",
 * "Wildcards"): UDP and TCP on one loopback address, port 53, answering only from its zone (wildcard-zone.ts), which
 * refuses every name outside the patterns it was given. One per root process, shared by its sessions.
 */
export class DnsResponder {
  private readonly connections = new Set<Socket>();

  private constructor(
    readonly address: string,
    readonly port: number,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    private readonly idleMs: number,
  ) {}

  /** Listens on address:port, UDP and TCP both, or neither (the error of whichever failed). */
  static async listen(
    zone: WildcardZone,
    address: string,
    port = 53,
    /** Tests: how long a TCP client may stay silent, or stalled by not reading, before it is dropped. */
    options: { idleMs?: number } = {},
  ): Promise<DnsResponder> {
    const udp = createSocket({ type: address.includes(":") ? "udp6" : "udp4" });
    const tcp = createServer({ pauseOnConnect: false });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind({ address, port, exclusive: true }, () => (udp.off("error", reject), resolve()));
      });
      const bound = udp.address().port;
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ host: address, port: bound, exclusive: true }, () => (tcp.off("error", reject), resolve()));
      });
      const responder = new DnsResponder(address, bound, udp, tcp, options.idleMs ?? TCP_IDLE_MS);
      responder.serve(zone);
      return responder;
    } catch (error) {
      udp.close();
      tcp.close();
      throw error;
    }
  }

  private serve(zone: WildcardZone): void {
    this.udp.on("error", () => undefined);
    this.udp.on("message", (message, from) => {
      // The zone drops messages over MAX_QUERY undecoded, and cuts an answer over 512 bytes to its question with TC set.
      const reply = zone.answer(message);
      if (reply) this.udp.send(reply, from.port, from.address);
    });
    this.tcp.on("connection", (socket) => {
      if (this.connections.size >= MAX_TCP_CONNECTIONS) return void socket.destroy();
      this.connections.add(socket);
      socket.on("close", () => this.connections.delete(socket));
      socket.on("error", () => undefined);
      socket.setTimeout(this.idleMs, () => socket.destroy());
      let buffered = Buffer.alloc(0);
      let scheduled = false;
      // Answers only while the client reads them: a client that pipelines queries and never reads would otherwise
      // make root queue answers without end. Reading stops while the socket's output is full; a few queries a turn.
      const pump = () => {
        scheduled = false;
        for (let n = 0; n < QUERIES_PER_TURN; n++) {
          if (socket.destroyed || socket.writableNeedDrain) return;
          // RFC 1035 4.2.2: each message behind a two-byte length.
          if (buffered.length < 2) return void socket.resume();
          const length = buffered.readUInt16BE(0);
          if (length > MAX_QUERY) return void socket.destroy();
          if (buffered.length < 2 + length) return void socket.resume();
          const reply = zone.answer(buffered.subarray(2, 2 + length), MAX_TCP_REPLY);
          buffered = buffered.subarray(2 + length);
          if (!reply) return void socket.destroy();
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          if (!socket.write(framed)) socket.pause();
          if (socket.writableLength > MAX_TCP_PENDING) return void socket.destroy();
        }
        socket.pause();
        scheduled = true;
        setImmediate(pump);
      };
      socket.on("drain", () => {
        if (!scheduled) pump();
      });
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        // Never more unanswered input than one chunk and a message: reading stays paused until these are answered.
        socket.pause();
        if (!scheduled) pump();
      });
    });
  }

  /** Bytes of answers queued for TCP clients and not yet taken by the kernel: what a client not reading costs root. */
  get pendingOutput(): number {
    let n = 0;
    for (const socket of this.connections) n += socket.writableLength;
    return n;
  }

  close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    return new Promise((resolve) => {
      this.udp.close(() => this.tcp.close(() => resolve()));
    });
  }
}
