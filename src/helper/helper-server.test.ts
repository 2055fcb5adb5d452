import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HelperClient } from "../engine/elevation/helper-client.js";
import { HelperServer, MAX_CLIENTS } from "./helper-server.js";
import type { Root } from "../engine/root/root.js";
import { rawConnection } from "../../test-support/helper-lab.js";
import { listenTcp } from "./tcp-listener.js";

describe("the per-session helper serves one client", () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = null;
  });

  const sessionHelper = (socketPath: string, secret: string, exited: () => void) =>
    new HelperServer(
      {
        socketPath,
        uid: process.getuid!(),
        gid: process.getgid!(),
        secret,
        log: () => undefined,
        mode: "single",
        openSession: () => Promise.reject(new Error("no session is needed here")),
      },
      exited,
    );

  it("a second client hears why it was refused, even when the refusal and the close arrive before its first call", async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-helper-server-"));
    const socketPath = join(dir, "helper.sock");
    const secret = "a".repeat(64);
    let exited = false;
    const server = sessionHelper(socketPath, secret, () => (exited = true));
    await server.listen();
    const first = await HelperClient.connect(socketPath, secret);
    const second = await HelperClient.connect(socketPath, secret);
    // The refusal line and the close have both arrived before anything is asked.
    await expect.poll(() => second.closed, { timeout: 5000 }).toBe(true);
    await expect(second.cleanup()).rejects.toThrow("helper refused: the helper already has a client");
    await first.close();
    await expect.poll(() => exited, { timeout: 5000 }).toBe(true);
  });

  it("over the TCP channel too: the refusal right behind the handshake's last line is not lost", async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-helper-server-"));
    const secret = "b".repeat(64);
    const helper = sessionHelper(join(dir, "unused.sock"), secret, () => undefined);
    const { port, server } = await listenTcp(helper, secret, () => undefined);
    try {
      const first = await HelperClient.overChannel(port, secret);
      const second = await HelperClient.overChannel(port, secret);
      await expect(second.cleanup()).rejects.toThrow("helper refused: the helper already has a client");
      await first.close();
    } finally {
      server.close();
    }
  });
});

describe("the installed helper serves a bounded number of clients", () => {
  it(`refuses the ${MAX_CLIENTS + 1}th client at once, naming the limit, and serves again when one goes`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "mkt-helper-server-"));
    const socketPath = join(dir, "helper.sock");
    const secret = "c".repeat(64);
    const server = new HelperServer(
      {
        socketPath,
        uid: process.getuid!(),
        gid: process.getgid!(),
        secret,
        log: () => undefined,
        mode: "daemon",
        openSession: () => Promise.reject(new Error("no session is needed here")),
      },
      () => undefined,
    );
    await server.listen();
    const clients: HelperClient[] = [];
    try {
      for (let i = 0; i < MAX_CLIENTS; i++) clients.push(await HelperClient.connect(socketPath, secret));
      const extra = await HelperClient.connect(socketPath, secret);
      await expect(extra.cleanup()).rejects.toThrow(`the helper already serves ${MAX_CLIENTS} clients`);
      await clients.pop()!.close();
      await expect
        .poll(
          async () => {
            const next = await HelperClient.connect(socketPath, secret);
            const refused = await next.cleanup().then(
              () => false,
              (e: Error) => /already serves/.test(e.message),
            );
            clients.push(next);
            return refused;
          },
          { timeout: 5000 },
        )
        .toBe(false);
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a line that breaks the checks costs that line only", () => {
  it("a secret of the right length in characters but not in bytes is refused; the helper serves on and still takes back the client's work when it goes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mkt-helper-server-"));
    const socketPath = join(dir, "helper.sock");
    const secret = "d".repeat(64);
    let tookBack = 0;
    const root = { close: async () => void tookBack++ } as unknown as Root;
    const server = new HelperServer(
      {
        socketPath,
        uid: process.getuid!(),
        gid: process.getgid!(),
        secret,
        log: () => undefined,
        mode: "daemon",
        openSession: async () => root,
      },
      () => undefined,
    );
    await server.listen();
    try {
      const conn = await rawConnection(socketPath);
      expect((await conn.send(JSON.stringify({ id: 1, secret, op: "hello", pid: process.pid }))).ok).toBe(true);
      expect(await conn.send(JSON.stringify({ id: 2, secret: "é".repeat(64), op: "ping" }))).toEqual({
        id: 2,
        ok: false,
        error: "not authorised",
      });
      expect((await conn.send(JSON.stringify({ id: 3, secret, op: "ping" }))).result).toBe("pong");
      conn.socket.end();
      await expect.poll(() => tookBack, { timeout: 5000 }).toBe(1);
    } finally {
      await server.shutdown();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the installed helper stopping (SIGTERM, the service manager's stop)", () => {
  it("takes back every connected client's work before it says stopped and exits", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mkt-helper-server-"));
    const socketPath = join(dir, "helper.sock");
    const secret = "e".repeat(64);
    const events: string[] = [];
    // A take-back that needs a moment, as removing routes does: the stop must wait for it.
    const root = {
      close: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        events.push("taken back");
      },
    } as unknown as Root;
    const server = new HelperServer(
      {
        socketPath,
        uid: process.getuid!(),
        gid: process.getgid!(),
        secret,
        log: (line) => void (line === "stopped" && events.push("stopped")),
        mode: "daemon",
        openSession: async () => root,
      },
      () => events.push("exit"),
    );
    await server.listen();
    try {
      const conn = await rawConnection(socketPath);
      expect((await conn.send(JSON.stringify({ id: 1, secret, op: "hello", pid: process.pid }))).ok).toBe(true);
      await server.shutdown();
      expect(events).toEqual(["taken back", "stopped", "exit"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
