import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type Socket, connect } from "node:net";
import { createInterface } from "node:readline";

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


const mac = (key: string | Buffer, ...parts: string[]) => createHmac("sha256", key).update(parts.join("\u0000")).digest("hex");

function sameMac(a: unknown, b: string): boolean {
  return typeof a === "string" && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export class ChannelError extends Error {}

/** Lines each way, each checked: one side of an established channel. */
export class SecureLines {
  private sendSeq = 0;
  private receiveSeq = 0;
  private readonly listeners: ((line: string) => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly key: string,
    /** "c" when this end is the client, "s" when the server: each direction has its own MACs. */
    private readonly self: "c" | "s",
    lines: AsyncIterable<string> | ReturnType<typeof createInterface>,
    private readonly onBreach: (why: string) => void,
  ) {
    (lines as ReturnType<typeof createInterface>).on("line", (raw: string) => this.receive(raw));
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
    if (!sameMac(frame.mac, mac(this.key, peer, String(frame.seq), frame.body))) return this.onBreach("a frame whose MAC does not match");
    if (frame.seq !== this.receiveSeq + 1) return this.onBreach(`a frame out of sequence (${frame.seq} after ${this.receiveSeq}): replayed or dropped`);
    this.receiveSeq = frame.seq;
    for (const listener of this.listeners) listener(frame.body);
  }

  onLine(listener: (line: string) => void): void {
    this.listeners.push(listener);
  }

  write(line: string): void {
    const seq = ++this.sendSeq;
    if (!this.socket.destroyed) this.socket.write(`${JSON.stringify({ seq, mac: mac(this.key, this.self, String(seq), line), body: line })}\n`);
  }
}

function readFirstLine(lines: ReturnType<typeof createInterface>, socket: Socket, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ChannelError("no answer during the handshake")), timeoutMs);
    socket.once("close", () => reject(new ChannelError("the other end closed during the handshake")));
    lines.once("line", (line: string) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new ChannelError("the handshake was not JSON"));
      }
    });
  });
}

/** Server side: greet, check the client's proof, prove ourselves; resolves with the channel, or closes the socket. */
export async function acceptChannel(socket: Socket, secret: string, timeoutMs = 5000): Promise<SecureLines> {
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  // readline re-emits its input's errors; a reset connection is just a closed one here.
  lines.on("error", () => undefined);
  socket.on("error", () => undefined);
  const serverNonce = randomBytes(32).toString("hex");
  socket.write(`${JSON.stringify({ hello: CHANNEL_GREETING, nonce: serverNonce })}\n`);
  const answer = await readFirstLine(lines, socket, timeoutMs);
  const clientNonce = typeof answer.nonce === "string" && /^[0-9a-f]{64}$/.test(answer.nonce) ? answer.nonce : null;
  if (!clientNonce || !sameMac(answer.proof, mac(secret, "client", serverNonce, clientNonce))) {
    socket.end(`${JSON.stringify({ error: "not authorised" })}\n`);
    throw new ChannelError("the client did not prove it holds the secret");
  }
  socket.write(`${JSON.stringify({ proof: mac(secret, "server", serverNonce, clientNonce) })}\n`);
  return new SecureLines(socket, mac(secret, "key", serverNonce, clientNonce), "s", lines, () => socket.destroy());
}

/** Client side: answer the greeting, check the server's proof; rejects if whoever listens does not hold the secret. */
export async function openChannel(port: number, secret: string, timeoutMs = 5000, host = "127.0.0.1"): Promise<{ socket: Socket; lines: SecureLines }> {
  const socket = connect({ host, port, noDelay: true });
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", (error) => reject(new ChannelError(`cannot reach the helper on ${host}:${port}: ${error.message}`)));
  });
  const lines = createInterface({ input: socket, crlfDelay: Infinity });
  lines.on("error", () => undefined);
  const greeting = await readFirstLine(lines, socket, timeoutMs);
  const serverNonce = typeof greeting.nonce === "string" && /^[0-9a-f]{64}$/.test(greeting.nonce) ? greeting.nonce : null;
  if (greeting.hello !== CHANNEL_GREETING || !serverNonce) throw new ChannelError(`${host}:${port} is not the helper`);
  const clientNonce = randomBytes(32).toString("hex");
  socket.write(`${JSON.stringify({ nonce: clientNonce, proof: mac(secret, "client", serverNonce, clientNonce) })}\n`);
  const proof = await readFirstLine(lines, socket, timeoutMs);
  if (typeof proof.error === "string") {
    socket.destroy();
    throw new ChannelError(`the helper refused: ${proof.error}`);
  }
  if (!sameMac(proof.proof, mac(secret, "server", serverNonce, clientNonce))) {
    socket.destroy();
    throw new ChannelError(`whoever listens on ${host}:${port} does not hold the session's secret; not talking to it`);
  }
  const secure = new SecureLines(socket, mac(secret, "key", serverNonce, clientNonce), "c", lines, () => socket.destroy());
  return { socket, lines: secure };
}

