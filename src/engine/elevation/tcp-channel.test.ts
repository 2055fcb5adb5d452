import { type Server, type Socket, connect, createServer } from "node:net";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { type SecureLines, acceptChannel, openChannel } from "./tcp-channel.js";

const SECRET = "a".repeat(64);
let server: Server | null = null;

afterEach(() => server?.close());

/** A server on a free loopback port whose accepted channels (or refusals) the test sees. */
async function listen(
  secret = SECRET,
): Promise<{ port: number; accepted: Promise<{ lines: SecureLines; socket: Socket }>; refused: Promise<string> }> {
  let accept!: (v: { lines: SecureLines; socket: Socket }) => void;
  let refuse!: (why: string) => void;
  const accepted = new Promise<{ lines: SecureLines; socket: Socket }>((r) => (accept = r));
  const refused = new Promise<string>((r) => (refuse = r));
  server = createServer(
    (socket) =>
      void acceptChannel(
        socket.on("error", () => undefined),
        secret,
      ).then(
        (lines) => accept({ lines, socket }),
        (e: Error) => refuse(e.message),
      ),
  );
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, accepted, refused };
}

const next = (lines: SecureLines) => new Promise<string>((r) => lines.onLine(r));

describe("the helper's TCP channel (challenge–response, MAC'd and sequenced lines)", () => {
  it("carries lines both ways once both ends proved the secret, without sending it", async () => {
    const { port, accepted } = await listen();
    const seen: string[] = [];
    const { lines: client, socket } = await openChannel(port, SECRET);
    socket.on("data", (d: Buffer) => seen.push(d.toString()));
    const { lines: srv } = await accepted;
    const got = next(srv);
    client.write('{"op":"ping"}');
    expect(await got).toBe('{"op":"ping"}');
    const back = next(client);
    srv.write('{"ok":true}');
    expect(await back).toBe('{"ok":true}');
    expect(seen.join("")).not.toContain(SECRET);
  });

  it("a client with the wrong secret is refused before any line; a server without the secret is not talked to", async () => {
    const wrongClient = await listen();
    await expect(openChannel(wrongClient.port, "b".repeat(64))).rejects.toThrow();
    expect(await wrongClient.refused).toBe("the client did not prove it holds the secret");
    server?.close();
    const impostor = await listen("c".repeat(64));
    await expect(openChannel(impostor.port, SECRET)).rejects.toThrow();
  });

  it("a frame whose MAC is as long in characters as a real one but not in bytes ends the channel, and throws nowhere", async () => {
    const { port, accepted } = await listen();
    const { socket } = await openChannel(port, SECRET);
    const { socket: serverSide } = await accepted;
    const closed = new Promise<void>((r) => serverSide.once("close", () => r()));
    socket.write(`${JSON.stringify({ seq: 1, mac: "é".repeat(64), body: '{"op":"ping"}' })}\n`);
    await closed;
  });

  it("a recorded handshake does not open a new session (fresh nonce), and a replayed or altered line ends the channel", async () => {
    const first = await listen();
    // Record what a real client sends, as a local eavesdropper would.
    const raw = connect(first.port, "127.0.0.1");
    raw.on("error", () => undefined);
    const rawGreeting = new Promise<string>((r) =>
      createInterface({ input: raw })
        .on("error", () => undefined)
        .once("line", r),
    );
    const sent: string[] = [];
    const { lines: client, socket } = await openChannel(first.port, SECRET);
    const originalWrite = socket.write.bind(socket);
    socket.write = ((chunk: string) => (sent.push(String(chunk)), originalWrite(chunk))) as typeof socket.write;
    const { lines: srv, socket: srvSocket } = await first.accepted;
    const received: string[] = [];
    srv.onLine((l) => received.push(l));
    client.write('{"op":"remove","n":1}');
    await expect.poll(() => received.length).toBe(1);
    expect(received).toEqual(['{"op":"remove","n":1}']);
    // The same frame again: its sequence number is not the next one.
    socket.write(sent[0]!);
    await new Promise<void>((r) => srvSocket.once("close", () => r()));
    expect(received).toHaveLength(1);

    // The raw connection answers the new greeting with the old client's proof: refused.
    const greeting = await rawGreeting;
    expect(JSON.parse(greeting).hello).toBe("minikube-tunnel-helper/1");
    raw.write(`${JSON.stringify({ nonce: "d".repeat(64), proof: "e".repeat(64) })}\n`);
    expect(await first.refused).toBe("the client did not prove it holds the secret");
    raw.destroy();
  });

  it("at the cap of handshakes in progress, the oldest silent connection goes, not the newcomer: silent connections cannot lock the real client out", async () => {
    const { port, accepted } = await listen();
    const silent: { socket: Socket; closed: boolean }[] = [];
    try {
      // One at a time, each greeted before the next, so the server saw them in this order.
      for (let i = 0; i < 20; i++) {
        const socket = connect(port, "127.0.0.1").on("error", () => undefined);
        const entry = { socket, closed: false };
        socket.once("close", () => (entry.closed = true));
        await new Promise((r) => createInterface({ input: socket }).once("line", r));
        silent.push(entry);
      }
      const started = performance.now();
      const { socket } = await openChannel(port, SECRET);
      const took = performance.now() - started;
      await accepted;
      socket.destroy();
      // Well inside the 5 s deadline the silent ones would otherwise hold their places until.
      expect(took).toBeLessThan(2000);
      // 20 silent and the client make 21; at most 15 (MAX_HANDSHAKES) are kept, so the 6 oldest went.
      await expect.poll(() => silent.map((s) => s.closed)).toEqual(silent.map((_, i) => i < 6));
    } finally {
      for (const s of silent) s.socket.destroy();
    }
  });
});
