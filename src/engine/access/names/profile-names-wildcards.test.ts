import { createSocket } from "node:dgram";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dnsPacket from "dns-packet";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeIfconfig } from "../../../../test-support/fake-ifconfig.js";
import { ResolverFiles } from "../../root/names/dns-resolver-darwin.js";
import { HostsFile } from "../../root/names/hosts-file.js";
import { NamesWriter } from "../../root/names/names-writer.js";
import { DomainRouterDarwin } from "../../root/names/domain-router-darwin.js";
import { DomainRouterLinux } from "../../root/names/domain-router-linux.js";
import { WildcardNames, WildcardService } from "../../root/names/wildcard-names.js";
import type { DomainRouter } from "../../root/names/domain-router.js";
import { NO_ALLOWANCES } from "../../root/policy/allowances.js";
import { RootSession, type RootSessionDeps } from "../../root/root-session.js";
import type { CommandRunner } from "../../system/command-runner.js";
import { PlainFiles } from "../../system/file-access.js";
import { ProfileNames } from "./profile-names.js";

const owner = { pid: process.pid, started: "" };
const files = new PlainFiles(() => false);
const alive = async (pid: number) => pid === process.pid;

/** A port free on the responder's first address now (port 53 needs root's privilege). */
async function freePort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind({ address: "127.64.255.255", port: 0 }, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function lookup(port: number, name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => (socket.close(), reject(new Error("no answer"))), 3000);
    socket.once("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve((dnsPacket.decode(reply).answers ?? []).map((a) => ("data" in a ? String(a.data) : a.type)));
    });
    socket.send(dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] }), port, "127.64.255.255");
  });
}

/**
 * What the user sees of wildcard names (docs/architecture.md, "Ingress and Gateway names", "Wildcards"): a profile's
 * names through a real root session (its policy), names writer, DNS responder and router; only the OS commands
 * (ifconfig, busctl) are stand-ins, and the resolver directory and hosts file are temporary.
 */
describe("a profile's wildcard names through root: the status says how, each name says mapped or why", () => {
  let dir: string;
  const sessions: RootSession[] = [];
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "mkt-profile-wild-"))));
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function profileNames(router: DomainRouter, platform: NodeJS.Platform) {
    const port = await freePort();
    const writer = new NamesWriter(
      owner,
      new HostsFile(join(dir, "hosts"), files, alive),
      new ResolverFiles(owner, join(dir, "resolver"), files, alive),
      new WildcardNames(new WildcardService(join(dir, "run"), platform, { router, port })),
    );
    const root = new RootSession({
      table: { list: async () => [] },
      registry: {},
      registrar: { heldRoutes: () => [], removeRoutes: async () => [] },
      user: { uid: 0, gid: 0 },
      relayTargetOwner: null,
      allowances: NO_ALLOWANCES,
      operator: true,
      runtimeDir: null,
      names: writer,
      log: () => undefined,
    } as unknown as RootSessionDeps);
    sessions.push(root);
    const names = new ProfileNames(
      "minikube",
      "cluster.local",
      root,
      () => undefined,
      () => undefined,
    );
    await names.forwarded([]);
    await names.setIngress({
      hosts: [{ ip: "127.70.255.9", names: ["shop.test"], kind: "ingress" }],
      wildcards: [
        { pattern: "*.shop.test", ip: "127.70.255.9", reach: "one-label" },
        { pattern: "*.com", ip: "127.70.255.9", reach: "one-label" },
      ],
    });
    return { names, port };
  }

  it("macOS: `how` names the responder and its resolver file; *.shop.test is mapped and answered, *.com refused; clear takes all back", async () => {
    const ifconfig = fakeIfconfig();
    const router = new DomainRouterDarwin(owner, join(dir, "run"), {
      runner: ifconfig.runner,
      resolverDir: join(dir, "resolver"),
      files,
      isAlive: alive,
    });
    const { names, port } = await profileNames(router, "darwin");
    expect(names.status()).toEqual({
      state: "on",
      domain: "cluster.local",
      how: `hosts file; wildcards: DNS responder 127.64.255.255:53 (lo0 alias), ${join(dir, "resolver", "shop.test")}`,
    });
    expect(names.ingressOutcome("*.shop.test", true)).toEqual({ mapped: true });
    expect(names.ingressOutcome("shop.test", false)).toEqual({ mapped: true });
    expect(names.ingressOutcome("*.com", true)).toEqual({
      mapped: false,
      reason:
        "*.com would take the whole top-level domain .com; root answers wildcards only under a domain of at least two labels",
    });
    expect(await lookup(port, "cart.shop.test")).toEqual(["127.70.255.9"]);
    await names.clear();
    expect(await readdir(join(dir, "resolver"))).toEqual([]);
    expect(ifconfig.aliases.size).toBe(0);
    expect(names.status()).toEqual({ state: "off", domain: "cluster.local" });
  });

  it("Linux without systemd-resolved: the wildcard is not mapped, with why; the exact host is; the status says hosts file only", async () => {
    const runner: CommandRunner = {
      run: async (file) =>
        file === "busctl"
          ? { stdout: "", stderr: "Failed to connect to bus: No such file or directory\n", exitCode: 1 }
          : { stdout: "", stderr: `${file} must not run`, exitCode: 1 },
    };
    const { names } = await profileNames(new DomainRouterLinux(owner, join(dir, "run"), runner), "linux");
    expect(names.status()).toEqual({ state: "on", domain: "cluster.local", how: "hosts file" });
    expect(names.ingressOutcome("*.shop.test", true)).toEqual({
      mapped: false,
      reason: "no per-domain resolver on this system (Linux without systemd-resolved)",
    });
    expect(names.ingressOutcome("shop.test", false)).toEqual({ mapped: true });
    expect(await readdir(dir)).not.toContain("run");
  });
});
