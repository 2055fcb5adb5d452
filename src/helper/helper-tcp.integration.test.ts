import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { portableCopy } from "../../test-support/bundles.js";
import { TestUser, startHelperIn, createHelperLab, destroyHelperLab, type HelperFiles } from "../../test-support/helper-lab.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: the helper over the TCP channel: ${skip}`);

/**
 * The Windows transport, run here: the real helper on a loopback TCP port
 * with the challenge–response channel, in the lab's host namespace; its
 * clients are processes of the test user there.
 */
describe.skipIf(skip !== null)("the helper over the TCP channel (Windows' transport, on Linux)", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let portFile: string;
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    portFile = join(files.miniPath, "helper.port");
    await startHelperIn(lab.host, files, ["--transport", "tcp", "--port-file", portFile]);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await destroyHelperLab({ lab, user, files });
  });

  async function client(mode: "add" | "ping", secret = files.secret): Promise<{ child: ChildProcess; first: Promise<Record<string, unknown>> }> {
    const portable = await portableCopy("helper-channel-proc");
    cleanups.push(portable.cleanup);
    const [file, args] = user.as(portable.node, portable.script, mode, portFile, secret, lab.nodeIp, "10.96.0.0/12");
    const child = spawn("ip", ["netns", "exec", lab.host, file, ...args], { cwd: "/", stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    const first = new Promise<Record<string, unknown>>((resolve) => createInterface({ input: child.stdout! }).once("line", (l) => resolve(JSON.parse(l))));
    return { child, first };
  }

  it("a client that proves the secret adds a route; a second client is refused; the first one vanishing takes its route", async () => {
    const first = await client("add");
    expect(await first.first).toMatchObject({ ready: true, outcomes: [{ kind: "added" }] });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    const second = await client("ping");
    expect((await second.first).error).toMatch(/the helper already has a client/);
    first.child.kill("SIGKILL");
    const deadline = Date.now() + 2000;
    while ((await lab.hostRoutes()).includes("10.96.0.0/12")) {
      if (Date.now() > deadline) throw new Error("the route outlived its client");
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it("a client with the wrong secret is refused at the handshake and changes nothing", async () => {
    const wrong = await client("add", "f".repeat(64));
    expect((await wrong.first).error).toBe("the helper refused: not authorised");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });
});
