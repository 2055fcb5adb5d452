import { type Server, type Socket, connect, createServer } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LoopbackRelays, MAX_RELAYED_CONNECTIONS } from "./loopback-relays-linux.js";

/**
 * The helper's own user asking root for listeners: bounded per session, and
 * never on a port where local programs expect a system service. Port 0 (any
 * free port) keeps the count test free of root and of other tests' ports.
 */
describe("root's loopback relays for one session", () => {
  let relays: LoopbackRelays;
  afterEach(() => relays.closeAll());

  it("at most 64: the 65th is refused naming the limit and held nowhere; reopening one it holds is not another", async () => {
    relays = new LoopbackRelays(null);
    for (let i = 1; i <= 64; i++) await relays.open(`127.64.250.${i}`, 0, 18080);
    await expect(relays.open("127.64.250.65", 0, 18080)).rejects.toThrow(
      "refusing to relay 127.64.250.65:0: this client already holds 64 relayed ports, the most one session may",
    );
    await relays.open("127.64.250.1", 0, 18081);
    expect(await relays.close("127.64.250.65", 0)).toBe(false);
    expect(await relays.closeAll()).toBe(64);
  });

  it("concurrent opens count against the limit together", async () => {
    relays = new LoopbackRelays(null);
    const results = await Promise.allSettled(
      Array.from({ length: 70 }, (_, i) => relays.open(`127.64.251.${i + 1}`, 0, 18080)),
    );
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(6);
    expect(await relays.closeAll()).toBe(64);
  });

  it.each([22, 25, 53, 67, 68, 111, 123, 137, 138, 139, 445, 546, 547, 631])(
    "port %i, a system service's, is refused even on forward mode's loopback range, naming the port",
    async (port) => {
      relays = new LoopbackRelays(null);
      await expect(relays.open("127.64.0.9", port, 18080)).rejects.toThrow(
        new RegExp(`^refusing to relay 127\\.64\\.0\\.9:${port}: port ${port} \\([^)]+\\) is a system service's port`),
      );
      expect(await relays.closeAll()).toBe(0);
    },
  );
});

describe("root's relayed connections for one session", () => {
  const address = "127.64.252.1";
  let relays: LoopbackRelays;
  let target: Server;
  let targetPort: number;
  const open: Socket[] = [];

  beforeEach(async () => {
    target = createServer((s) => s.on("data", (d) => s.write(d)));
    await new Promise<void>((r) => target.listen(0, address, r));
    targetPort = (target.address() as { port: number }).port;
  });
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy();
    await relays.closeAll();
    await new Promise<void>((r) => target.close(() => r()));
  });

  const echo = async (port: number) => {
    const socket = connect(port, address);
    open.push(socket);
    socket.on("error", () => undefined);
    socket.write("x");
    return new Promise<boolean>((resolve) => {
      socket.once("data", () => resolve(true));
      socket.once("close", () => resolve(false));
    });
  };

  it(`carry at most ${MAX_RELAYED_CONNECTIONS} at once: a connect flood is cut there, and a freed one is served again`, async () => {
    relays = new LoopbackRelays(null);
    const port = 19000 + (process.pid % 1000);
    await relays.open(address, port, targetPort);
    const served = await Promise.all(Array.from({ length: MAX_RELAYED_CONNECTIONS }, () => echo(port)));
    expect(served.every(Boolean)).toBe(true);
    expect(await echo(port)).toBe(false);
    open.shift()!.destroy();
    await expect.poll(() => echo(port), { timeout: 5000 }).toBe(true);
  });

  it("connections that arrive while root reads who listens share that read; no answer outlives it", async () => {
    let asked = 0;
    let answer = false;
    let release: () => void = () => undefined;
    let gate = new Promise<void>((r) => (release = r));
    relays = new LoopbackRelays(
      process.getuid?.() ?? 0,
      () => undefined,
      async () => {
        asked++;
        await gate;
        return answer;
      },
    );
    const port = 20000 + (process.pid % 1000);
    await relays.open(address, port, targetPort);
    // Twenty at once while the first read is under way: one read decides them all (here: not the user's, all cut).
    const refused = Array.from({ length: 20 }, () => echo(port));
    await expect.poll(() => asked, { timeout: 5000 }).toBe(1);
    release();
    expect((await Promise.all(refused)).some(Boolean)).toBe(false);
    expect(asked).toBe(1);
    // The user's listener came back a moment later: the next connection is read again and served, not refused from
    // a remembered answer (nor would a squatter be served from a remembered "yes").
    answer = true;
    gate = Promise.resolve();
    expect(await echo(port)).toBe(true);
    expect(asked).toBe(2);
  });
});
