import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { type Server, type Socket, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import type { LinkStatus } from "../cluster-access.js";
import { ChannelCarrier } from "./channel-carrier.js";
import { parseHostKeys } from "./host-keys.js";
import { OpenSshSocksLink } from "./openssh-socks-link.js";
import type { LinkTarget } from "./reconnecting-link.js";

// OpenSshSocksLink against test-support/fake-ssh.mjs, whose -D runs a SOCKS5 server as OpenSSH's
// does and connects to its targets from this machine: the targets here are servers of this test on
// 127.0.0.1. No sshd, no root.

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
  readonly kind: "dynamic" | "dynamic-exit" | "socks";
  readonly args?: string[];
  readonly why?: string;
  readonly target?: string;
  readonly ok?: boolean;
  readonly keyPresent?: boolean;
  readonly knownHosts?: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function harness(beforeDial?: (link: OpenSshSocksLink) => void) {
  const dir = await mkdtemp(join(tmpdir(), "mkt-fake-ssh-"));
  const ssh = join(dir, "ssh");
  await writeFile(ssh, `#!/bin/sh\nFAKE_SSH_DIR='${dir}' exec '${process.execPath}' '${FAKE_SSH}' "$@"\n`);
  await chmod(ssh, 0o755);
  const link: OpenSshSocksLink = new OpenSshSocksLink(
    async () => (beforeDial?.(link), TARGET),
    { minBackoffMs: 20, maxBackoffMs: 100 },
    ssh,
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
  const sessions = async () => (await calls()).filter((c) => c.kind === "dynamic");
  cleanups.push(async () => {
    await link.close();
    // A session this test failed to end must not outlive it.
    for (const call of await sessions()) if (alive(call.pid)) process.kill(call.pid, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });
  return {
    link,
    states,
    logs,
    calls,
    sessions,
    setting: (name: "master-mode" | "D-taken", value: string) => writeFile(join(dir, name), value),
    /** The live session's pid and `-D` port: the last one started. */
    last: async () => {
      const call = (await sessions()).at(-1)!;
      return { pid: call.pid, port: Number(call.args![call.args!.indexOf("-D") + 1]!.split(":")[1]) };
    },
  };
}

/** A target on 127.0.0.1 that says who it is and then echoes what it is sent. */
async function target(name: string): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.write(`${name}:`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const close = () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  cleanups.push(close);
  return { port: (server.address() as { port: number }).port, close };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const t = await target("gone");
  t.close();
  return t.port;
}

/** Connects to a listener, sends `send` and half-closes; resolves with what came back, or the error's code. */
function exchange(port: number, send: string): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => socket.end(send));
    socket.on("data", (d: Buffer) => (text += d.toString()));
    socket.on("close", () => resolve(text));
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function carried(link: OpenSshSocksLink, targetPort: number | (() => number)) {
  const carrier = new ChannelCarrier(link, () => undefined);
  const port = typeof targetPort === "number" ? () => targetPort : targetPort;
  const listener = await carrier.listen("127.0.0.1", 0, () => ({ host: "127.0.0.1", port: port() }));
  cleanups.push(() => listener.close());
  return listener.port;
}

describe("OpenSshSocksLink against a fake ssh", () => {
  it("dial starts one ssh -D on a free loopback port with the pinned keys alone; up once the remote command answers; the key copy goes after login", async () => {
    const h = await harness();
    await h.link.start();
    expect(h.link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:2222" });
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "up"]);
    expect(h.logs).toContain("SSH link to the node at 127.0.0.1:2222 is up (OpenSSH, SOCKS)");
    const [session, ...others] = await h.sessions();
    expect(others).toEqual([]);
    const args = session!.args!;
    expect(args.slice(0, 3)).toEqual(["-F", "/dev/null", "-D"]);
    expect(args[3]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(args).not.toContain("-M");
    expect(args).not.toContain("-N");
    expect(args).toEqual(
      expect.arrayContaining([
        "ExitOnForwardFailure=yes",
        "StrictHostKeyChecking=yes",
        "GlobalKnownHostsFile=/dev/null",
        "HostKeyAlias=minikube-node",
        "IdentitiesOnly=yes",
        "BatchMode=yes",
        "-T",
        "-p",
        "2222",
        "docker@127.0.0.1",
      ]),
    );
    expect(args.at(-1)).toBe("echo minikube-tunnel-link-up; exec cat >/dev/null");
    expect(session!.knownHosts).toBe(
      HOST_KEYS.map((k) => `minikube-node ${k.algorithm} ${k.blob.toString("base64")}\n`).join(""),
    );
    expect(session!.keyPresent).toBe(true);
    const key = args[args.indexOf("-i") + 1]!;
    expect(dirname(key)).toMatch(/[/\\]mkt-ssh-[^/\\]+$/);
    await eventually(() => !existsSync(key), { what: "the key copy deleted" });
    expect(h.link.port).toBe((await h.last()).port);
  });

  it("each connection a listener accepts goes through the SOCKS port to its target, both ways, half-close included", async () => {
    const h = await harness();
    await h.link.start();
    const web = await target("web");
    const port = await carried(h.link, web.port);
    expect(await exchange(port, "ping")).toBe("web:ping");
    expect(await exchange(port, "pong")).toBe("web:pong");
    expect((await h.calls()).filter((c) => c.kind === "socks")).toEqual([
      expect.objectContaining({ target: `127.0.0.1:${web.port}`, ok: true }),
      expect.objectContaining({ target: `127.0.0.1:${web.port}`, ok: true }),
    ]);
  });

  it("the target is read at every connection: a Service's new target needs no new listener", async () => {
    const h = await harness();
    await h.link.start();
    const [a, b] = [await target("a"), await target("b")];
    let now = a.port;
    const port = await carried(h.link, () => now);
    expect(await exchange(port, "1")).toBe("a:1");
    now = b.port;
    expect(await exchange(port, "2")).toBe("b:2");
  });

  it("a target the node cannot reach: ssh granted the CONNECT and then closes, so the client's connection closes", async () => {
    const h = await harness();
    await h.link.start();
    const port = await carried(h.link, await deadPort());
    expect(await exchange(port, "hello")).toBe("");
    expect((await h.calls()).filter((c) => c.kind === "socks")).toEqual([expect.objectContaining({ ok: false })]);
  });

  it("while the link is not up, a connection is closed at once and reaches no SOCKS port", async () => {
    const h = await harness();
    const web = await target("web");
    const port = await carried(h.link, web.port);
    expect(await exchange(port, "early")).toBe("");
    expect(h.link.port).toBeNull();
    await h.link.start();
    expect(await exchange(port, "late")).toBe("web:late");
  });

  it("the session dropping is reconnecting; a new ssh -D on a new port carries the same listeners", async () => {
    const h = await harness();
    await h.link.start();
    const web = await target("web");
    const port = await carried(h.link, web.port);
    const first = await h.last();
    process.kill(first.pid, "SIGUSR1");
    await eventually(() => h.states.some((s) => s.state === "reconnecting"), { what: "reconnecting" });
    expect(h.states.find((s) => s.state === "reconnecting")).toEqual({
      state: "reconnecting",
      endpoint: "127.0.0.1:2222",
      error: "Connection to 127.0.0.1 closed by remote host.",
    });
    await eventually(async () => (await h.last()).pid !== first.pid && h.link.status().state === "up", {
      what: "a new ssh -D, up",
    });
    expect(h.link.port).toBe((await h.last()).port);
    expect(await exchange(port, "again")).toBe("web:again");
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "up", "reconnecting", "up"]);
  });

  it("a -D port taken between the pick and ssh's bind fails that login (ExitOnForwardFailure); the next one picks another", async () => {
    const h = await harness();
    await h.setting("D-taken", "1");
    await h.link.start();
    expect(h.link.status()).toMatchObject({ state: "reconnecting", error: "Could not request local forwarding." });
    await eventually(() => h.link.status().state === "up", { what: "up on the second login" });
    const [taken, used] = (await h.sessions()).map((s) => s.args![s.args!.indexOf("-D") + 1]);
    expect(used).not.toBe(taken);
    const web = await target("web");
    expect(await exchange(await carried(h.link, web.port), "x")).toBe("web:x");
  });

  it("a host key the pins do not match is refused; no new ssh starts by itself; reconnect() tries again", async () => {
    let resolves = 0;
    const h = await harness(() => resolves++);
    await h.setting("master-mode", "hostkey");
    await h.link.start();
    expect(h.link.status()).toEqual({
      state: "refused",
      endpoint: "127.0.0.1:2222",
      error: expect.stringMatching(
        /^host key mismatch: 127\.0\.0\.1:2222 presented SHA256:fakeFingerprint0123456789abcdefghijklmnopqr, which is not the node's key/,
      ),
    });
    await eventually(() => resolves >= 4, { what: "three looks at the target after the refusal" });
    expect(await h.sessions()).toHaveLength(1);
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "refused"]);
    await h.setting("master-mode", "up");
    await h.link.reconnect();
    expect(h.link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:2222" });
    expect(await h.sessions()).toHaveLength(2);
  });

  it("probe() is reached when the target answers, and not when ssh closes the connection first", async () => {
    const h = await harness();
    await expect(h.link.probe("127.0.0.1", 443)).rejects.toThrow("the SSH link is connecting");
    await h.link.start();
    const web = await target("web");
    await h.link.probe("127.0.0.1", web.port);
    const dead = await deadPort();
    await expect(h.link.probe("127.0.0.1", dead)).rejects.toThrow(`the node could not connect to 127.0.0.1:${dead}`);
  });

  it("reconnect() ends the ssh and starts a new one", async () => {
    const h = await harness();
    await h.link.start();
    const first = await h.last();
    await h.link.reconnect();
    expect(h.link.status().state).toBe("up");
    expect((await h.last()).pid).not.toBe(first.pid);
    expect(alive(first.pid)).toBe(false);
  });

  it("close() ends the ssh, removes its temporary directory, and is down; nothing comes back", async () => {
    const h = await harness();
    await h.link.start();
    const { pid } = await h.last();
    const session = (await h.sessions())[0]!;
    const dir = dirname(session.args![session.args!.indexOf("-i") + 1]!);
    expect(existsSync(dir)).toBe(true);
    await h.link.close();
    expect(alive(pid)).toBe(false);
    expect((await h.calls()).filter((c) => c.kind === "dynamic-exit")).toEqual([
      expect.objectContaining({ pid, why: expect.stringMatching(/^(stdin closed|SIGTERM)$/) }),
    ]);
    expect(existsSync(dir)).toBe(false);
    expect(h.link.status().state).toBe("down");
    expect(h.link.port).toBeNull();
    expect(await h.sessions()).toHaveLength(1);
  });

  it("a close() while ssh logs in ends it, and no ssh follows", async () => {
    const h = await harness();
    await h.setting("master-mode", "login");
    const started = h.link.start();
    const session = await eventually(async () => (await h.sessions())[0], { what: "an ssh logging in" });
    await h.link.close();
    expect(alive(session.pid)).toBe(false);
    await started;
    expect(h.states.map((s) => s.state)).toEqual(["connecting", "down"]);
    expect(await h.sessions()).toHaveLength(1);
  });
});
