import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import type { LinkStatus } from "../cluster-access.js";
import { execFileRunner } from "../../system/command-runner.js";
import type { CarriedListener } from "./forward-carrier.js";
import { parseHostKeys } from "./host-keys.js";
import { OpenSshLink } from "./openssh-link.js";
import type { LinkTarget } from "./reconnecting-link.js";

// OpenSshLink's lifecycle against test-support/fake-ssh.mjs, which answers as OpenSSH does for the
// link's arguments (master, -O forward/cancel, -W) and connects nowhere: no sshd, no root, no network.

const FAKE_SSH = join(import.meta.dirname, "..", "..", "..", "..", "test-support", "fake-ssh.mjs");
const HOST_KEYS = parseHostKeys(await readFile(join(import.meta.dirname, "fixtures", "ssh_host_keys.pub.txt"), "utf8"));
const TARGET: LinkTarget = {
  host: "127.0.0.1",
  port: 2222,
  username: "docker",
  privateKey: Buffer.from("-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n"),
  hostKeys: HOST_KEYS,
};

interface Call {
  readonly pid: number;
  readonly kind: "master" | "master-exit" | "forward" | "cancel" | "W";
  readonly args?: string[];
  readonly why?: string;
  readonly specs?: string[];
  readonly ok?: boolean;
  readonly target?: string;
  readonly keyPresent?: boolean;
  readonly knownHosts?: string;
}

interface Harness {
  readonly link: OpenSshLink;
  readonly dir: string;
  readonly states: LinkStatus[];
  readonly logs: string[];
  calls(): Promise<Call[]>;
  setting(name: "master-mode" | "fail-ports" | "fail-W", value: string): Promise<void>;
  /** The live master's pid: the last one started. */
  masterPid(): Promise<number>;
}

const harnesses: Harness[] = [];

afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await h.link.close();
    // A master this test failed to end must not outlive it.
    for (const call of await h.calls()) if (call.kind === "master") killQuietly(call.pid);
    await rm(h.dir, { recursive: true, force: true });
  }
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone: what we wanted.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The fake behind a small sh wrapper: the link runs `ssh` without a shell or env of its own, so the wrapper carries
 * both.
 */
async function harness(beforeDial?: (link: OpenSshLink) => void): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "mkt-fake-ssh-"));
  const ssh = join(dir, "ssh");
  await writeFile(ssh, `#!/bin/sh\nFAKE_SSH_DIR='${dir}' exec '${process.execPath}' '${FAKE_SSH}' "$@"\n`);
  await chmod(ssh, 0o755);
  const link: OpenSshLink = new OpenSshLink(
    async () => (beforeDial?.(link), TARGET),
    { minBackoffMs: 20, maxBackoffMs: 100 },
    ssh,
    execFileRunner,
  );
  const states: LinkStatus[] = [];
  const logs: string[] = [];
  link.on("state", (s: LinkStatus) => states.push(s));
  link.on("log", (line: string) => logs.push(line));
  const calls = async () =>
    (await readFile(join(dir, "calls.jsonl"), "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Call);
  const h: Harness = {
    link,
    dir,
    states,
    logs,
    calls,
    setting: (name, value) => writeFile(join(dir, name), value),
    masterPid: async () => (await calls()).filter((c) => c.kind === "master").at(-1)!.pid,
  };
  harnesses.push(h);
  return h;
}

/** The link's temporary directory, from the control path it gave the master. */
const tempDirOf = (master: Call) => dirname(master.args![master.args!.indexOf("-S") + 1]!);
const target = (port: number) => () => ({ host: "10.96.0.10", port });

describe("OpenSshLink against a fake ssh", () => {
  it("dial starts one master and is up once the remote command answers; the key copy goes after login", async () => {
    const h = await harness();
    await h.link.start();
    expect(h.link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:2222" });
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "up"]);
    const [master, ...others] = (await h.calls()).filter((c) => c.kind === "master");
    expect(others).toEqual([]);
    const args = master!.args!;
    expect(args.slice(0, 3)).toEqual(["-F", "/dev/null", "-M"]);
    expect(args).toEqual(
      expect.arrayContaining([
        "StrictHostKeyChecking=yes",
        "HostKeyAlias=minikube-node",
        "ControlPersist=no",
        "-T",
        "-p",
        "2222",
        "docker@127.0.0.1",
      ]),
    );
    expect(args.at(-1)).toBe("echo minikube-tunnel-link-up; exec cat >/dev/null");
    // The pinned keys alone, under the alias; the login key was there for the login.
    expect(master!.knownHosts).toBe(
      HOST_KEYS.map((k) => `minikube-node ${k.algorithm} ${k.blob.toString("base64")}\n`).join(""),
    );
    expect(master!.keyPresent).toBe(true);
    const dir = tempDirOf(master!);
    expect(dir).toMatch(/[/\\]mkt-ssh-[^/\\]+$/);
    await eventually(() => !existsSync(join(dir, "id")), { what: "the key copy deleted" });
  });

  it("listen() while up asks the master for one forward; its close cancels it", async () => {
    const h = await harness();
    await h.link.start();
    const listener = await h.link.listen("127.0.0.1", 0, target(80));
    expect(listener.port).toBeGreaterThan(0);
    const spec = `127.0.0.1:${listener.port}:10.96.0.10:80`;
    expect((await h.calls()).filter((c) => c.kind === "forward")).toEqual([
      expect.objectContaining({ specs: [spec], ok: true }),
    ]);
    await listener.close();
    expect((await h.calls()).filter((c) => c.kind === "cancel")).toEqual([
      expect.objectContaining({ specs: [spec], ok: true }),
    ]);
  });

  it("listen() on a port another program holds rejects with EADDRINUSE before the master is asked", async () => {
    const h = await harness();
    await h.link.start();
    const first = await h.link.listen("127.0.0.1", 0, target(80));
    // The fake master binds nothing; hold the port ourselves to stand for another program.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: "127.0.0.1", port: 0 }, () => resolve()));
    const held = (holder.address() as { port: number }).port;
    await expect(h.link.listen("127.0.0.1", held, target(81))).rejects.toMatchObject({ code: "EADDRINUSE" });
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    expect((await h.calls()).filter((c) => c.kind === "forward").map((c) => c.specs)).toEqual([
      [`127.0.0.1:${first.port}:10.96.0.10:80`],
    ]);
  });

  it("forwards asked for before the link is up go to the master in one request when it comes up", async () => {
    const h = await harness();
    const a = await h.link.listen("127.0.0.1", 0, target(80));
    const b = await h.link.listen("127.0.0.1", 0, target(443));
    expect(await h.calls()).toEqual([]);
    await h.link.start();
    expect((await h.calls()).filter((c) => c.kind === "forward").map((c) => c.specs)).toEqual([
      [`127.0.0.1:${a.port}:10.96.0.10:80`, `127.0.0.1:${b.port}:10.96.0.10:443`],
    ]);
  });

  it("the master exiting is reconnecting; a new master gets every forward again in one request", async () => {
    const h = await harness();
    await h.link.start();
    const listeners: CarriedListener[] = [
      await h.link.listen("127.0.0.1", 0, target(80)),
      await h.link.listen("127.0.0.1", 0, target(443)),
    ];
    const first = await h.masterPid();
    process.kill(first, "SIGUSR1");
    await eventually(() => h.states.some((s) => s.state === "reconnecting"), { what: "reconnecting" });
    expect(h.states.find((s) => s.state === "reconnecting")).toEqual({
      state: "reconnecting",
      endpoint: "127.0.0.1:2222",
      error: "Connection to 127.0.0.1 closed by remote host.",
    });
    await eventually(async () => (await h.masterPid()) !== first && h.link.status().state === "up", {
      what: "a new master, up",
    });
    const calls = await h.calls();
    const again = calls.slice(calls.findLastIndex((c) => c.kind === "master")).filter((c) => c.kind === "forward");
    expect(again.map((c) => c.specs)).toEqual([
      listeners.map((l, i) => `127.0.0.1:${l.port}:10.96.0.10:${[80, 443][i]}`),
    ]);
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "up", "reconnecting", "up"]);
  });

  it("when the batch fails (a port taken while down), each forward is asked alone and the link still comes up", async () => {
    const h = await harness();
    await h.link.start();
    const lost = await h.link.listen("127.0.0.1", 0, target(80));
    const kept = await h.link.listen("127.0.0.1", 0, target(443));
    await h.setting("fail-ports", String(lost.port));
    const first = await h.masterPid();
    process.kill(first, "SIGUSR1");
    await eventually(async () => (await h.masterPid()) !== first && h.link.status().state === "up", {
      what: "a new master, up",
    });
    const calls = await h.calls();
    const again = calls.slice(calls.findLastIndex((c) => c.kind === "master")).filter((c) => c.kind === "forward");
    const lostSpec = `127.0.0.1:${lost.port}:10.96.0.10:80`;
    const keptSpec = `127.0.0.1:${kept.port}:10.96.0.10:443`;
    expect(again.map((c) => [c.specs, c.ok])).toEqual([
      [[lostSpec, keptSpec], false],
      [[lostSpec], false],
      [[keptSpec], true],
    ]);
    expect(h.logs).toContainEqual(
      expect.stringMatching(
        new RegExp(`^could not listen again on 127\\.0\\.0\\.1:${lost.port}: .*Port forwarding failed`),
      ),
    );
  });

  it("many listen() calls at once while up are one `ssh -O forward` with every -L, and their closes one -O cancel", async () => {
    const h = await harness();
    await h.link.start();
    const listeners = await Promise.all(Array.from({ length: 40 }, (_, i) => h.link.listen("127.0.0.1", 0, target(i))));
    const specs = listeners.map((l, i) => `127.0.0.1:${l.port}:10.96.0.10:${i}`);
    const forwards = (await h.calls()).filter((c) => c.kind === "forward");
    expect(forwards.map((c) => [c.specs, c.ok])).toEqual([[specs, true]]);
    await Promise.all(listeners.map((l) => l.close()));
    const cancels = (await h.calls()).filter((c) => c.kind === "cancel");
    expect(cancels.map((c) => [c.specs, c.ok])).toEqual([[specs, true]]);
  });

  it("a batch while up that the master refuses (one port) is asked again one by one: only that listen rejects", async () => {
    const h = await harness();
    await h.link.start();
    const free = await Promise.all(
      [0, 1, 2].map(async () => {
        const probe = createServer();
        await new Promise<void>((resolve) => probe.listen({ host: "127.0.0.1", port: 0 }, () => resolve()));
        const port = (probe.address() as { port: number }).port;
        await new Promise<void>((resolve) => probe.close(() => resolve()));
        return port;
      }),
    );
    await h.setting("fail-ports", String(free[1]));
    const results = await Promise.allSettled(free.map((port) => h.link.listen("127.0.0.1", port, target(80))));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/Port forwarding failed/);
    const forwards = (await h.calls()).filter((c) => c.kind === "forward");
    // The batch, then each alone (in any order: they go together).
    expect(forwards.map((c) => [c.specs!.length, c.ok])[0]).toEqual([3, false]);
    expect(
      forwards
        .slice(1)
        .map((c) => `${c.specs!.length} ${c.ok}`)
        .sort(),
    ).toEqual(["1 false", "1 true", "1 true"]);
  });

  it("a host key the pins do not match is refused, with the host key mismatch message", async () => {
    const h = await harness();
    await h.setting("master-mode", "hostkey");
    await h.link.start();
    expect(h.link.status()).toEqual({
      state: "refused",
      endpoint: "127.0.0.1:2222",
      error: expect.stringMatching(
        /^host key mismatch: 127\.0\.0\.1:2222 presented SHA256:fakeFingerprint0123456789abcdefghijklmnopqr, which is not the node's key/,
      ),
    });
    expect(h.logs).toContainEqual(expect.stringMatching(/^host key mismatch: /));
  });

  it("probe() asks the master for -W host:port, and rejects with ssh's reason when that fails", async () => {
    const h = await harness();
    await expect(h.link.probe("10.96.0.1", 443)).rejects.toThrow("the SSH link is not up");
    await h.link.start();
    await h.link.probe("10.96.0.1", 443);
    expect((await h.calls()).filter((c) => c.kind === "W")).toEqual([
      expect.objectContaining({ target: "10.96.0.1:443", ok: true }),
    ]);
    await h.setting("fail-W", "10.96.0.1:443");
    await expect(h.link.probe("10.96.0.1", 443)).rejects.toThrow("stdio forwarding failed");
  });

  it("reconnect() ends the master and starts a new one", async () => {
    const h = await harness();
    await h.link.start();
    const first = await h.masterPid();
    await h.link.reconnect();
    expect(h.link.status().state).toBe("up");
    expect(await h.masterPid()).not.toBe(first);
    expect(alive(first)).toBe(false);
  });

  it("close() ends the master, removes its temporary directory, and is down", async () => {
    const h = await harness();
    await h.link.start();
    const pid = await h.masterPid();
    const dir = tempDirOf((await h.calls()).find((c) => c.kind === "master")!);
    expect(existsSync(dir)).toBe(true);
    await h.link.close();
    expect(alive(pid)).toBe(false);
    // close() ends stdin and sends SIGTERM together; either way the master saw it and went.
    expect((await h.calls()).filter((c) => c.kind === "master-exit")).toEqual([
      expect.objectContaining({ pid, why: expect.stringMatching(/^(stdin closed|SIGTERM)$/) }),
    ]);
    expect(existsSync(dir)).toBe(false);
    expect(h.link.status().state).toBe("down");
    // Nothing comes back after a close.
    await expect(h.link.probe("10.96.0.1", 443)).rejects.toThrow("the SSH link is not up");
    expect((await h.calls()).filter((c) => c.kind === "master")).toHaveLength(1);
  });

  it("a host key mismatch starts no new master by itself; reconnect() tries again", async () => {
    let resolves = 0;
    const h = await harness(() => resolves++);
    await h.setting("master-mode", "hostkey");
    await h.link.start();
    expect(h.link.status().state).toBe("refused");
    // The refused link still reads its target, on the backoff's ceiling (100 ms here): after a few reads, still one
    // master.
    await eventually(() => resolves >= 4, { what: "three looks at the target after the refusal" });
    expect((await h.calls()).filter((c) => c.kind === "master")).toHaveLength(1);
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "refused"]);
    await h.setting("master-mode", "up");
    await h.link.reconnect();
    expect(h.link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:2222" });
    expect((await h.calls()).filter((c) => c.kind === "master")).toHaveLength(2);
  });

  // The close lands on the next turn of the event loop, inside the dial's file work (temporary
  // directory, key copy, known_hosts), before any master exists to stop.
  it("a close() while the master is being prepared leaves no master and stays down", async () => {
    let closing: Promise<void> | undefined;
    const h = await harness((link) => setImmediate(() => (closing = link.close())));
    await h.link.start();
    expect(closing).toBeDefined();
    await closing;
    await expect(h.link.probe("10.96.0.1", 443)).rejects.toThrow("the SSH link is not up");
    expect(h.link.status().state).toBe("down");
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "down"]);
    expect((await h.calls()).filter((c) => c.kind === "master")).toEqual([]);
  });

  it("a close() while the master logs in ends that master, removes the key's directory, and no master follows", async () => {
    const h = await harness();
    await h.setting("master-mode", "login");
    const started = h.link.start();
    const master = await eventually(async () => (await h.calls()).find((c) => c.kind === "master"), {
      what: "a master logging in",
    });
    expect(alive(master.pid)).toBe(true);
    await h.link.close();
    expect(alive(master.pid)).toBe(false);
    await started;
    expect(h.link.status().state).toBe("down");
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "down"]);
    expect(existsSync(tempDirOf(master))).toBe(false);
    expect((await h.calls()).filter((c) => c.kind === "master")).toHaveLength(1);
  });
});
