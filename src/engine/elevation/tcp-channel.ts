import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type Socket, connect } from "node:net";
import { MAX_REQUEST_BYTES } from "../../shared/helper-protocol.js";

/**
 * The helper's channel where a Unix socket with an owner-only mode is not to
 * be had (Windows: Node cannot set a named pipe's DACL). A loopback TCP port
 * anyone can connect to, so nothing rests on who connects: both ends prove
 * they hold the session secret without sending it (challenge–response on two
 * fresh nonces), then every line carries a MAC under a key derived from the
 * secret and both nonces, and a sequence number that must grow. A squatter on
 * the port learns nothing; a recorded session cannot be replayed; a line
 * cannot be replayed, dropped or changed inside one. Platform-neutral, so it
 * runs in the Linux tests too.
 */
export const CHANNEL_GREETING = "minikube-tunnel-helper/1";

/** A handshake line is a nonce and a MAC: anything longer is not a client. */
const HANDSHAKE_LINE_BYTES = 1024;
/** A frame: a request (at most MAX_REQUEST_BYTES), JSON-escaped once more as the body, with its MAC and sequence. */
export const FRAME_LINE_BYTES = 2 * MAX_REQUEST_BYTES + 1024;
/** Lines waiting for the channel's reader; beyond it the socket stops being read until the reader catches up. */
const MAX_BUFFERED_LINES = 32;
/**
 * Connections this process has in their handshake at once, the newest
 * included. One below listenTcp's own cap (16, which refuses the newcomer),
 * so that refusal never comes first: here the oldest goes instead.
 */
export const MAX_HANDSHAKES = 15;

const mac = (key: string | Buffer, ...parts: string[]) =>
  createHmac("sha256", key).update(parts.join("\u0000")).digest("hex");

/** Compared as bytes of equal length: a string of the right length in characters but not in bytes is simply unequal. */
function sameMac(a: unknown, b: string): boolean {
  if (typeof a !== "string") return false;
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ChannelError extends Error {}

/**
 * Every line from the moment the socket opens, none lost: a line that
 * follows the handshake's last one in the same chunk (a refusal sent right
 * after it) waits here until the handshake or the channel takes it. Lines
 * are cut by hand with a limit, so a peer that never sends a newline costs
 * at most the limit (then the socket is destroyed), and lines nobody has
 * taken yet pause the socket instead of piling up.
 */
class LineQueue {
  private readonly buffered: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (error: Error) => void } | null = null;
  private sink: ((line: string) => void) | null = null;
  private ended = false;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private limit = HANDSHAKE_LINE_BYTES;

  constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.take(chunk));
    socket.on("close", () => {
      this.ended = true;
      this.waiter?.reject(new ChannelError("the other end closed during the handshake"));
      this.waiter = null;
    });
  }

  /**
   * Ends the handshake now, and the socket: whoever waits for a line hears why at once, not when the socket has closed.
   */
  abort(why: string): void {
    this.ended = true;
    this.socket.destroy();
    this.waiter?.reject(new ChannelError(why));
    this.waiter = null;
  }

  private take(chunk: Buffer): void {
    let from = 0;
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, from)) {
      this.partial.push(chunk.subarray(from, at));
      this.partialBytes += at - from;
      if (this.partialBytes > this.limit) return this.overflow();
      const line = Buffer.concat(this.partial).toString("utf8").replace(/\r$/, "");
      this.partial = [];
      this.partialBytes = 0;
      from = at + 1;
      this.push(line);
    }
    this.partial.push(chunk.subarray(from));
    this.partialBytes += chunk.length - from;
    if (this.partialBytes > this.limit) this.overflow();
  }

  private overflow(): void {
    this.partial = [];
    this.partialBytes = 0;
    this.socket.destroy();
  }

  private push(line: string): void {
    if (this.sink) return this.sink(line);
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) return waiter.resolve(line);
    this.buffered.push(line);
    if (this.buffered.length >= MAX_BUFFERED_LINES) this.socket.pause();
  }

  /** The handshake's next line, as JSON; on time out the socket is destroyed, not left open. */
  next(timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise<string>((resolve, reject) => {
      const line = this.buffered.shift();
      if (line !== undefined) return resolve(line);
      if (this.ended) return reject(new ChannelError("the other end closed during the handshake"));
      const timer = setTimeout(() => {
        this.waiter = null;
        this.socket.destroy();
        reject(new ChannelError("no answer during the handshake"));
      }, timeoutMs);
      this.waiter = {
        resolve: (l) => (clearTimeout(timer), resolve(l)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    }).then((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new ChannelError("the handshake was not JSON");
      }
    });
  }

  /**
   * Everything after the handshake goes to `sink`, starting with what already arrived; frames may be as long as a
   * request needs.
   */
  handOver(sink: (line: string) => void): void {
    this.limit = FRAME_LINE_BYTES;
    this.sink = sink;
    for (const line of this.buffered.splice(0)) sink(line);
    this.socket.resume();
  }
}

/** Lines each way, each checked: one side of an established channel. */
export class SecureLines {
  private sendSeq = 0;
  private receiveSeq = 0;
  private listener: ((line: string) => void) | null = null;
  /** Checked lines that came before anyone listened. */
  private readonly early: string[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly key: string,
    /** "c" when this end is the client, "s" when the server: each direction has its own MACs. */
    private readonly self: "c" | "s",
    queue: LineQueue,
    private readonly onBreach: (why: string) => void,
  ) {
    queue.handOver((raw) => this.receive(raw));
  }

  private receive(raw: string): void {
    const peer = this.self === "c" ? "s" : "c";
    let frame: { seq?: unknown; mac?: unknown; body?: unknown };
    try {
      frame = JSON.parse(raw) as typeof frame;
    } catch {
      return this.onBreach("a line that is not a frame");
    }
    if (typeof frame.seq !== "number" || typeof frame.body !== "string") return this.onBreach("a malformed frame");
    if (!sameMac(frame.mac, mac(this.key, peer, String(frame.seq), frame.body)))
      return this.onBreach("a frame whose MAC does not match");
    if (frame.seq !== this.receiveSeq + 1)
      return this.onBreach(`a frame out of sequence (${frame.seq} after ${this.receiveSeq}): replayed or dropped`);
    this.receiveSeq = frame.seq;
    if (this.listener) this.listener(frame.body);
    else if (this.early.push(frame.body) >= MAX_BUFFERED_LINES) this.socket.pause();
  }

  /** One reader per channel; it first gets the lines that arrived before it. */
  onLine(listener: (line: string) => void): void {
    this.listener = listener;
    for (const body of this.early.splice(0)) listener(body);
    this.socket.resume();
  }

  write(line: string): void {
    const seq = ++this.sendSeq;
    if (!this.socket.destroyed)
      this.socket.write(`${JSON.stringify({ seq, mac: mac(this.key, this.self, String(seq), line), body: line })}\n`);
  }
}

/**
 * Handshakes in progress, oldest first. Anyone on the machine can open a
 * connection and say nothing until the deadline; if a full table refused
 * newcomers, MAX_HANDSHAKES such connections would lock the real client out
 * for as long as they care to reconnect. The oldest is evicted instead: the
 * real client answers within a round trip of its greeting, so it is evicted
 * only by a flood of MAX_HANDSHAKES connections inside that round trip.
 */
const handshakes: LineQueue[] = [];

/** Server side: greet, check the client's proof, prove ourselves; resolves with the channel, or closes the socket. */
export async function acceptChannel(socket: Socket, secret: string, timeoutMs = 5000): Promise<SecureLines> {
  const lines = new LineQueue(socket);
  socket.on("error", () => undefined);
  while (handshakes.length >= MAX_HANDSHAKES)
    handshakes.shift()!.abort("evicted: newer connections were waiting for their handshake");
  handshakes.push(lines);
  try {
    const serverNonce = randomBytes(32).toString("hex");
    socket.write(`${JSON.stringify({ hello: CHANNEL_GREETING, nonce: serverNonce })}\n`);
    const answer = await lines.next(timeoutMs);
    const clientNonce = typeof answer.nonce === "string" && /^[0-9a-f]{64}$/.test(answer.nonce) ? answer.nonce : null;
    if (!clientNonce || !sameMac(answer.proof, mac(secret, "client", serverNonce, clientNonce))) {
      socket.end(`${JSON.stringify({ error: "not authorised" })}\n`);
      throw new ChannelError("the client did not prove it holds the secret");
    }
    // Evicted after its answer arrived but before this ran: a channel on a destroyed socket would never report its
    // close.
    if (socket.destroyed) throw new ChannelError("the connection closed during the handshake");
    socket.write(`${JSON.stringify({ proof: mac(secret, "server", serverNonce, clientNonce) })}\n`);
    return new SecureLines(socket, mac(secret, "key", serverNonce, clientNonce), "s", lines, () => socket.destroy());
  } finally {
    const at = handshakes.indexOf(lines);
    if (at !== -1) handshakes.splice(at, 1);
  }
}

/** Client side: answer the greeting, check the server's proof; rejects if whoever listens does not hold the secret. */
export async function openChannel(
  port: number,
  secret: string,
  timeoutMs = 5000,
  host = "127.0.0.1",
): Promise<{ socket: Socket; lines: SecureLines }> {
  const socket = connect({ host, port, noDelay: true });
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", (error) =>
      reject(new ChannelError(`cannot reach the helper on ${host}:${port}: ${error.message}`)),
    );
  });
  const lines = new LineQueue(socket);
  // A peer that is not the helper, or that gives up half-way, leaves no open socket behind.
  const greeting = await lines.next(timeoutMs).catch((error: Error) => (socket.destroy(), Promise.reject(error)));
  const serverNonce =
    typeof greeting.nonce === "string" && /^[0-9a-f]{64}$/.test(greeting.nonce) ? greeting.nonce : null;
  if (greeting.hello !== CHANNEL_GREETING || !serverNonce) {
    socket.destroy();
    throw new ChannelError(`${host}:${port} is not the helper`);
  }
  const clientNonce = randomBytes(32).toString("hex");
  socket.write(`${JSON.stringify({ nonce: clientNonce, proof: mac(secret, "client", serverNonce, clientNonce) })}\n`);
  const proof = await lines.next(timeoutMs).catch((error: Error) => (socket.destroy(), Promise.reject(error)));
  if (typeof proof.error === "string") {
    socket.destroy();
    throw new ChannelError(`the helper refused: ${proof.error}`);
  }
  if (!sameMac(proof.proof, mac(secret, "server", serverNonce, clientNonce))) {
    socket.destroy();
    throw new ChannelError(`whoever listens on ${host}:${port} does not hold the session's secret; not talking to it`);
  }
  const secure = new SecureLines(socket, mac(secret, "key", serverNonce, clientNonce), "c", lines, () =>
    socket.destroy(),
  );
  return { socket, lines: secure };
}
