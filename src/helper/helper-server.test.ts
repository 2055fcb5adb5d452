import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HelperClient } from "../engine/elevation/helper-client.js";
import { HelperServer } from "./helper-server.js";
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
