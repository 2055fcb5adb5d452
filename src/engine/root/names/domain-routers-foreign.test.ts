import { createSocket } from "node:dgram";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dnsPacket from "dns-packet";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeIfconfig } from "../../../../test-support/fake-ifconfig.js";
import { fakeNrptPowerShell } from "../../../../test-support/fake-nrpt-powershell.js";
import type { CommandRunner } from "../../system/command-runner.js";
import { PlainFiles } from "../../system/file-access.js";
import { NrptRules } from "./dns-resolver-windows.js";
import { DomainRouterDarwin } from "./domain-router-darwin.js";
import { DomainRouterLinux } from "./domain-router-linux.js";
import { DomainRouterWindows } from "./domain-router-windows.js";
import { WildcardService } from "./wildcard-names.js";

const self = { pid: 4242, started: "81234567" };
const dead = { pid: 999_999, started: "1" };
// The writer 4242 is alive; every other pid is dead.
const onlySelfAlive = async (pid: number) => pid === self.pid;
const shop = { pattern: "*.shop.test", ip: "127.70.255.9", reach: "one-label" as const };
const gw = { pattern: "*.gw.test", ip: "127.70.255.10", reach: "one-or-more-labels" as const };
const files = new PlainFiles(() => false);

/** A port free on the responder's first address now (UDP and TCP both get it; port 53 needs root's privilege). */
async function freePort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind({ address: "127.64.255.255", port: 0 }, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** One A query over UDP, as the OS resolver sends it to the address a resolver file or NRPT rule names. */
function lookup(address: string, port: number, name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => (socket.close(), reject(new Error("no answer"))), 3000);
    socket.once("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve((dnsPacket.decode(reply).answers ?? []).map((a) => ("data" in a ? String(a.data) : a.type)));
    });
    socket.send(dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] }), port, address);
  });
}

let dirs: { runtime: string; resolver: string };
const services: WildcardService[] = [];
beforeEach(async () => {
  dirs = {
    runtime: await mkdtemp(join(tmpdir(), "mkt-wild-run-")),
    resolver: await mkdtemp(join(tmpdir(), "mkt-wild-resolver-")),
  };
});
afterEach(async () => {
  for (const service of services.splice(0)) {
    await service.set("a", null);
    await service.set("b", null);
  }
  await rm(dirs.runtime, { recursive: true, force: true });
  await rm(dirs.resolver, { recursive: true, force: true });
});

describe("macOS: root's DNS responder behind /etc/resolver/<domain> and an lo0 alias", () => {
  const darwin = (ifconfig: CommandRunner, who = self) =>
    new DomainRouterDarwin(who, dirs.runtime, {
      runner: ifconfig,
      resolverDir: dirs.resolver,
      files,
      isAlive: onlySelfAlive,
    });
  const service = async (router: DomainRouterDarwin) => {
    const s = new WildcardService(dirs.runtime, "darwin", { router, port: await freePort() });
    services.push(s);
    return s;
  };

  it("the alias first, a marked resolver file per domain, answers at the alias; taken back with the last wildcard", async () => {
    const ifconfig = fakeIfconfig();
    const port = await freePort();
    const s = new WildcardService(dirs.runtime, "darwin", { router: darwin(ifconfig.runner), port });
    services.push(s);
    const result = await s.set("a", [shop, gw]);
    expect(result).toEqual({
      how: `DNS responder 127.64.255.255:53 (lo0 alias), ${join(dirs.resolver, "gw.test")} ${join(dirs.resolver, "shop.test")}`,
      dropped: [],
    });
    expect(ifconfig.calls.filter((c) => c.includes("alias"))).toEqual(["ifconfig lo0 alias 127.64.255.255 up"]);
    expect(await readFile(join(dirs.resolver, "shop.test"), "utf8")).toBe(
      "# minikube-tunnel profile=_wildcards pid=4242 started=81234567\nnameserver 127.64.255.255\nsearch_order 1\ndomain shop.test\n",
    );
    expect(JSON.parse(await readFile(join(dirs.runtime, "wildcards-4242.json"), "utf8"))).toEqual({
      started: "81234567",
      link: "mktdns0",
      address: "127.64.255.255",
    });
    expect(await lookup("127.64.255.255", port, "web.shop.test")).toEqual(["127.70.255.9"]);
    // Another owner's change keeps what the first has; a domain no one has any more loses its file.
    await s.set("b", [shop]);
    await s.set("a", null);
    expect(await readdir(dirs.resolver)).toEqual(["shop.test"]);
    await s.set("b", null);
    expect(await readdir(dirs.resolver)).toEqual([]);
    expect(ifconfig.aliases.size).toBe(0);
    expect(await readdir(dirs.runtime)).toEqual([]);
  });

  it("a resolver file that is not ours is left alone: only that domain is not mapped, with why", async () => {
    await writeFile(join(dirs.resolver, "shop.test"), "nameserver 192.168.49.2\n");
    const s = await service(darwin(fakeIfconfig().runner));
    const result = await s.set("a", [shop, gw]);
    expect(result.dropped).toEqual([
      {
        name: "*.shop.test",
        reason: `${join(dirs.resolver, "shop.test")} exists and is not this tunnel's (another tunnel's, minikube tunnel's, or written by hand); leaving it alone`,
      },
    ]);
    await s.set("a", null);
    expect(await readFile(join(dirs.resolver, "shop.test"), "utf8")).toBe("nameserver 192.168.49.2\n");
    expect(await readdir(dirs.resolver)).toEqual(["shop.test"]);
  });

  it("an address lo0 has already (another root process's responder) is skipped for the next", async () => {
    const ifconfig = fakeIfconfig();
    ifconfig.aliases.add("127.64.255.255");
    const s = await service(darwin(ifconfig.runner));
    expect((await s.set("a", [shop])).how).toMatch(/^DNS responder 127\.65\.255\.255:53 \(lo0 alias\)/);
    await s.set("a", null);
    expect([...ifconfig.aliases]).toEqual(["127.64.255.255"]);
  });

  it("after kill -9, cleanup takes back the dead root's files and alias by its record, and nothing of a live one", async () => {
    const ifconfig = fakeIfconfig();
    const crashed = darwin(ifconfig.runner, dead);
    await crashed.claim("mktdns0", "127.64.255.255");
    await crashed.up("mktdns0", "127.64.255.255", ["shop.test"]);
    const live = darwin(ifconfig.runner);
    await live.claim("mktdns1", "127.65.255.255");
    await live.up("mktdns1", "127.65.255.255", ["gw.test"]);
    expect(await darwin(ifconfig.runner).removeStale(onlySelfAlive)).toEqual([
      join(dirs.resolver, "shop.test"),
      "lo0 alias 127.64.255.255 (wildcard names)",
    ]);
    expect(await readdir(dirs.resolver)).toEqual(["gw.test"]);
    expect([...ifconfig.aliases]).toEqual(["127.65.255.255"]);
    expect(await readdir(dirs.runtime)).toEqual(["wildcards-4242.json"]);
    await live.down("mktdns1");
  });

  it("a record that names an address no responder takes is never followed: cleanup removes no alias by it", async () => {
    const ifconfig = fakeIfconfig();
    ifconfig.aliases.add("127.0.0.2");
    await writeFile(
      join(dirs.runtime, "wildcards-999999.json"),
      JSON.stringify({ started: "1", link: "mktdns0", address: "127.0.0.2" }),
    );
    expect(await darwin(ifconfig.runner).removeStale(onlySelfAlive)).toEqual([]);
    expect([...ifconfig.aliases]).toEqual(["127.0.0.2"]);
  });
});

describe("Windows: root's DNS responder behind NRPT rules", () => {
  const windows = (ps: CommandRunner, who = self) => new DomainRouterWindows(who, dirs.runtime, ps, files);

  it("one rule per domain to the responder under our marker; the user's rules stay; taken back with the last", async () => {
    const ps = fakeNrptPowerShell();
    ps.rules.push({
      Name: "{00000000-0000-0000-0000-000000000001}",
      Namespace: [".corp.example"],
      NameServers: ["10.0.0.53"],
      Comment: "set by IT",
    });
    const port = await freePort();
    const s = new WildcardService(dirs.runtime, "win32", { router: windows(ps.runner), port });
    services.push(s);
    expect(await s.set("a", [shop, gw])).toEqual({
      how: "DNS responder 127.64.255.255:53, NRPT rule .gw.test → 127.64.255.255, NRPT rule .shop.test → 127.64.255.255",
      dropped: [],
    });
    expect(ps.rules.map((r) => [r.Namespace[0], r.NameServers[0], r.Comment])).toEqual([
      [".corp.example", "10.0.0.53", "set by IT"],
      [".gw.test", "127.64.255.255", "minikube-tunnel profile=_wildcards pid=4242 started=81234567"],
      [".shop.test", "127.64.255.255", "minikube-tunnel profile=_wildcards pid=4242 started=81234567"],
    ]);
    expect(await lookup("127.64.255.255", port, "a.b.gw.test")).toEqual(["127.70.255.10"]);
    await s.set("a", [shop]);
    expect(ps.rules.map((r) => r.Namespace[0])).toEqual([".corp.example", ".shop.test"]);
    await s.set("a", null);
    expect(ps.rules.map((r) => r.Comment)).toEqual(["set by IT"]);
    expect(await readdir(dirs.runtime)).toEqual([]);
  });

  it("after kill -9, cleanup removes the dead root's rules by its record; a live writer's rules stay", async () => {
    const ps = fakeNrptPowerShell();
    const crashed = windows(ps.runner, dead);
    await crashed.claim("mktdns0", "127.64.255.255");
    await crashed.up("mktdns0", "127.64.255.255", ["shop.test"]);
    await new NrptRules(self, ps.runner).apply({
      profile: "minikube",
      domain: "cluster.local",
      server: "10.96.0.10",
      gateway: "192.168.49.2",
    });
    const removed = await windows(ps.runner).removeStale(onlySelfAlive);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/^NRPT rule \{[0-9A-F-]{36}\} \(wildcard names\)$/);
    expect(ps.rules.map((r) => r.Namespace[0])).toEqual([".cluster.local"]);
    expect(await readdir(dirs.runtime)).toEqual([]);
  });

  it("refuses values that are not domains and an address before any script runs", () => {
    expect(() => NrptRules.domainsScript("_wildcards", ["x'; calc; '"], "127.64.255.255", self)).toThrow(
      "refusing NRPT rules",
    );
    expect(() => NrptRules.domainsScript("_wildcards", ["shop.test"], "127.64.255.255; calc", self)).toThrow(
      "refusing NRPT rules",
    );
    expect(() => NrptRules.domainsScript("minikube' -or '1", ["shop.test"], "127.64.255.255", self)).toThrow(
      "refusing NRPT rules",
    );
  });
});

describe("Linux without systemd-resolved", () => {
  it("every wildcard is not mapped, with why, and nothing is started: no link, no record, no responder", async () => {
    const calls: string[] = [];
    // busctl with no system bus to reach, as it fails on such a system.
    const runner: CommandRunner = {
      run: async (file, args) => {
        calls.push([file, ...args].join(" "));
        return file === "busctl"
          ? { stdout: "", stderr: "Failed to connect to bus: No such file or directory\n", exitCode: 1 }
          : { stdout: "", stderr: "", exitCode: 0 };
      },
    };
    const port = await freePort();
    const s = new WildcardService(dirs.runtime, "linux", {
      router: new DomainRouterLinux(self, dirs.runtime, runner),
      port,
    });
    services.push(s);
    const reason = "no per-domain resolver on this system (Linux without systemd-resolved)";
    expect(await s.set("a", [shop, gw])).toEqual({
      dropped: [
        { name: "*.shop.test", reason },
        { name: "*.gw.test", reason },
      ],
    });
    expect(calls.every((c) => c.startsWith("busctl"))).toBe(true);
    expect(await readdir(dirs.runtime)).toEqual([]);
    // The responder's port is free: nothing listens there.
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ address: "127.64.255.255", port, exclusive: true }, resolve);
    });
    socket.close();
  });
});
