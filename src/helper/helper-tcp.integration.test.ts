import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { portableCopy } from "../../test-support/bundles.js";
import { eventually } from "../../test-support/eventually.js";
import {
  TestUser,
  startHelperIn,
  createHelperLab,
  destroyHelperLab,
  type HelperFiles,
} from "../../test-support/helper-lab.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";

const run = promisify(execFile);
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

  async function client(
    mode: "add" | "ping",
    secret = files.secret,
  ): Promise<{ child: ChildProcess; first: Promise<Record<string, unknown>> }> {
    const portable = await portableCopy("helper-channel-proc");
    cleanups.push(portable.cleanup);
    const [file, args] = user.as(portable.node, portable.script, mode, portFile, secret, lab.nodeIp, "10.96.0.0/12");
    const child = spawn("ip", ["netns", "exec", lab.host, file, ...args], {
      cwd: "/",
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const first = new Promise<Record<string, unknown>>((resolve) =>
      createInterface({ input: child.stdout! }).once("line", (l) => resolve(JSON.parse(l))),
    );
    return { child, first };
  }

  it("a client that proves the secret adds a route; a second client is refused; the first one vanishing takes its route", async () => {
    const first = await client("add");
    expect(await first.first).toMatchObject({ ready: true, outcomes: [{ kind: "added" }] });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    const second = await client("ping");
    expect((await second.first).error).toMatch(/the helper already has a client/);
    first.child.kill("SIGKILL");
    await eventually(async () => !(await lab.hostRoutes()).includes("10.96.0.0/12"), {
      timeoutMs: 2000,
      what: "the route to go with its client",
    });
  });

  /** The helper's resident memory, from /proc. */
  async function helperRss(): Promise<number> {
    const { stdout } = await run("pgrep", ["-f", "--", `--secret-file ${files.secretFile}`]);
    const status = await readFile(`/proc/${stdout.trim().split("\n")[0]}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  it("any local user's endless line or silent connections cost the helper little: cut at the line limit, closed at the handshake deadline", async () => {
    const port = Number((await readFile(portFile, "utf8")).trim());
    const before = await helperRss();
    // As nobody: anyone on the machine can reach the port. 20 connections that say nothing, then, once all
    // are greeted (so it is the newest, not one evicted for newer ones), 64 MiB without a newline.
    const attack = `
      const net = require("net"); const t0 = Date.now(); const out = {};
      const idle = []; let greeted = 0;
      for (let i = 0; i < 20; i++) {
        const s = net.connect(${port}, "127.0.0.1"); s.on("error", () => {});
        s.once("data", () => { if (++greeted === 20) startFlood(); }); s.resume();
        s.on("close", () => { idle.push(Date.now() - t0); done(); });
      }
      function startFlood() {
        let sent = 0; const chunk = Buffer.alloc(1 << 20, 120);
        const flood = net.connect(${port}, "127.0.0.1", () => {
          const pump = () => { while (sent < 64 * (1 << 20)) { sent += chunk.length; if (!flood.write(chunk)) return flood.once("drain", pump); } };
          pump();
        });
        flood.on("error", () => {}); flood.on("close", () => { out.floodClosedAfterBytes = sent; done(); });
      }
      let pending = 21; function done() { if (--pending === 0) { out.idleClosedMs = idle.sort((a, b) => a - b); console.log(JSON.stringify(out)); process.exit(0); } }
      setTimeout(() => { console.log(JSON.stringify({ ...out, idleClosedMs: idle, timedOut: true })); process.exit(0); }, 20000);`;
    const { stdout } = await run("ip", [
      "netns",
      "exec",
      lab.host,
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      process.execPath,
      "-e",
      attack,
    ]);
    const seen = JSON.parse(stdout) as { floodClosedAfterBytes: number; idleClosedMs: number[]; timedOut?: boolean };
    console.log(
      `[helper tcp] flood cut after ${seen.floodClosedAfterBytes} bytes written; idle connections closed at ${seen.idleClosedMs[0]}–${seen.idleClosedMs.at(-1)} ms`,
    );
    expect(seen.timedOut).toBeUndefined();
    expect(seen.floodClosedAfterBytes).toBeLessThan(64 * 2 ** 20);
    // Beyond 15 handshakes at once, the oldest are closed at once; the others at the 5 s deadline, not later.
    expect(seen.idleClosedMs.filter((ms) => ms < 1000).length).toBeGreaterThanOrEqual(4);
    expect(seen.idleClosedMs.at(-1)).toBeLessThan(8000);
    expect((await helperRss()) - before).toBeLessThan(32 * 2 ** 20);
    // And the helper still serves its user.
    const ok = await client("add");
    expect(await ok.first).toMatchObject({ ready: true });
  });

  it("another user holding 16 silent connections open does not lock the real client out: its hello goes through at once", async () => {
    const port = Number((await readFile(portFile, "utf8")).trim());
    // As nobody: 16 connections, each greeted (so in its handshake) before the next, kept open without a word.
    const hold = `
      const net = require("net"); const held = [];
      const next = () => {
        if (held.length === 16) return console.log("held");
        const s = net.connect(${port}, "127.0.0.1"); s.on("error", () => {}); s.on("close", () => {});
        s.once("data", next); held.push(s);
      };
      next(); setInterval(() => {}, 60000);`;
    const holder = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.host,
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        process.execPath,
        "-e",
        hold,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(holder);
    await new Promise((resolve) => createInterface({ input: holder.stdout! }).once("line", resolve));
    const started = performance.now();
    const ok = await client("ping");
    expect(await ok.first).toEqual({ pong: "pong" });
    const took = performance.now() - started;
    console.log(
      `[helper tcp] with 16 silent connections held, the client's ping answered after ${Math.round(took)} ms (process start included)`,
    );
    // Not at the 5 s deadline that frees the silent ones' places.
    expect(took).toBeLessThan(4000);
  });

  it("a client with the wrong secret is refused at the handshake and changes nothing", async () => {
    const wrong = await client("add", "f".repeat(64));
    expect((await wrong.first).error).toBe("the helper refused: not authorised");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });
});
