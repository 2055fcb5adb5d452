import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { entry } from "../../test-support/forged-entries.js";
import {
  type HelperFiles,
  TestUser,
  createHelperLab,
  destroyHelperLab,
  rawConnection,
  startHelperIn,
} from "../../test-support/helper-lab.js";
import { labUnavailableReason, type NetnsLab } from "../../test-support/netns-lab.js";
import { privateEtc } from "../../test-support/private-etc.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: the helper attacked through routes and files: ${skip}`);

/**
 * The helper serves its user without a password, so its user is the first
 * attacker: every test here is a request or a file that user controls, sent
 * to the real helper running as root in the lab (docs/security.md, "The root
 * policy"). Each names the finding it guards against.
 */
describe.skipIf(skip !== null)("the helper attacked by its own user: routes and the files root writes", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let call: (o: Record<string, unknown>) => Promise<Record<string, any>>;
  let conn: Awaited<ReturnType<typeof rawConnection>>;

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    await startHelperIn(lab.host, files);
    conn = await rawConnection(files.socketPath);
    call = (o) => conn.send(JSON.stringify({ id: 1, secret: files.secret, ...o }));
    const owner = await user.process();
    expect((await call({ op: "hello", pid: owner.pid })).ok).toBe(true);
  });

  afterEach(() => destroyHelperLab({ lab, user, files }));

  const inHost = (...args: string[]) => run("ip", ["-n", lab.host, ...args]);

  it("a route through a VPN link or the default gateway is never added or adopted, even with a forged dead owner", async () => {
    await inHost("tuntap", "add", "dev", "tunmkt", "mode", "tun");
    await inHost("link", "set", "tunmkt", "up");
    await inHost("addr", "add", "10.8.0.2/24", "dev", "tunmkt");
    await inHost("route", "add", "10.8.0.0/16", "via", "10.8.0.1", "dev", "tunmkt", "onlink");
    await inHost("route", "add", "default", "via", "192.168.49.254");
    await inHost("route", "add", "10.61.0.0/16", "via", "192.168.49.254");
    await writeFile(
      files.registry,
      JSON.stringify([
        entry("10.8.0.0", "//8AAA==", "10.8.0.1", "vpn"),
        entry("10.61.0.0", "//8AAA==", "192.168.49.254", "lan"),
      ]),
    );
    await run("chown", [`${user.uid}:${user.gid}`, files.registry]);
    expect(
      (
        await call({
          op: "declare",
          profile: "vpn",
          nodeIp: "10.8.0.1",
          cidrs: ["10.8.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        })
      ).ok,
    ).toBe(true);
    expect((await call({ op: "add", profile: "vpn", gateway: "10.8.0.1", cidrs: ["10.8.0.0/16"] })).result).toEqual([
      { kind: "failed", error: "refused: 10.8.0.1 is reached over tunmkt, a VPN or tunnel link" },
    ]);
    expect(
      (
        await call({
          op: "declare",
          profile: "lan",
          nodeIp: "192.168.49.254",
          cidrs: ["10.61.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        })
      ).ok,
    ).toBe(true);
    expect(
      (await call({ op: "add", profile: "lan", gateway: "192.168.49.254", cidrs: ["10.61.0.0/16"] })).result,
    ).toEqual([
      { kind: "failed", error: "refused: 192.168.49.254 is this machine's default gateway, not a cluster node" },
    ]);
    expect((await call({ op: "remove", profile: "vpn", gateway: "10.8.0.1", cidrs: ["10.8.0.0/16"] })).error).toMatch(
      /not a route this client added/,
    );
    const routes = await lab.hostRoutes();
    expect(routes).toContain("10.8.0.0/16 via 10.8.0.1 dev tunmkt");
    expect(routes).toContain("10.61.0.0/16 via 192.168.49.254");
  });

  it.each(["8.0.0.0/8", "1.0.0.0/8", "64:ff9b::/96"])(
    "a route to %s, which would take every local user's traffic for that public network, is refused; the profile's private routes still go in",
    async (cidr) => {
      const nodeIp = cidr.includes(":") ? "fd00:49::2" : lab.nodeIp;
      const cidrs = [cidr, cidr.includes(":") ? "fd00:10:96::/112" : "10.96.0.0/12"];
      expect(
        (
          await call({
            op: "declare",
            profile: "evil",
            nodeIp,
            cidrs,
            clusterDomain: "cluster.local",
            clusterDnsIp: "",
          })
        ).ok,
      ).toBe(true);
      const answer = await call({ op: "add", profile: "evil", gateway: nodeIp, cidrs });
      expect(answer.result[0]).toEqual({
        kind: "failed",
        error: expect.stringMatching(/^refused: .* is not a private network/),
      });
      expect(answer.result[1]).toEqual({ kind: "added" });
      expect(await lab.hostRoutes(cidr.includes(":") ? 6 : 4)).not.toContain(cidr);
    },
  );

  it("a network holding this machine's own address or its DNS server is refused (its sibling routes still go in), and the node may not be this machine", async () => {
    // An address of the host's own with no route of its own (a /32): only the rule protects it.
    await inHost("link", "add", "mktd", "type", "veth", "peer", "name", "mktd-peer");
    await inHost("addr", "add", "10.123.0.1/32", "dev", "mktd");
    await inHost("link", "set", "mktd", "up");
    await inHost("link", "set", "mktd-peer", "up");
    const resolvConf = join(privateEtc(), "resolv.conf");
    const saved = await readFile(resolvConf, "utf8").catch(() => null);
    await writeFile(resolvConf, "nameserver 10.124.0.53\n");
    try {
      const cidrs = ["10.123.0.0/16", "10.124.0.0/24", "10.96.0.0/12"];
      expect(
        (
          await call({
            op: "declare",
            profile: "evil",
            nodeIp: lab.nodeIp,
            cidrs,
            clusterDomain: "cluster.local",
            clusterDnsIp: "",
          })
        ).ok,
      ).toBe(true);
      expect((await call({ op: "add", profile: "evil", gateway: lab.nodeIp, cidrs })).result).toEqual([
        { kind: "failed", error: "refused: 10.123.0.0/16 contains 10.123.0.1, this machine's address on mktd" },
        { kind: "failed", error: "refused: 10.124.0.0/24 contains 10.124.0.53, this machine's DNS server" },
        { kind: "added" },
      ]);
      const self = await call({
        op: "declare",
        profile: "self",
        nodeIp: "10.123.0.1",
        cidrs: ["10.97.0.0/16"],
        clusterDomain: "cluster.local",
        clusterDnsIp: "",
      });
      expect(self.error).toMatch(/node IP 10\.123\.0\.1 is this machine's address on mktd/);
      expect(await lab.hostRoutes()).not.toMatch(/10\.123\.0\.0|10\.124\.0\.0/);
    } finally {
      if (saved === null) await rm(resolvConf, { force: true });
      else await writeFile(resolvConf, saved);
    }
  });

  it.each([
    ["0.0.0.0/1", /broader than \/8/],
    ["127.64.0.0/16", /overlaps 127\.0\.0\.0\/8/],
    ["224.0.0.0/8", /overlaps 224\.0\.0\.0\/4/],
  ])("%s is never a cluster's network: the declaration is refused", async (cidr, why) => {
    const answer = await call({
      op: "declare",
      profile: "evil",
      nodeIp: lab.nodeIp,
      cidrs: [cidr],
      clusterDomain: "cluster.local",
      clusterDnsIp: "",
    });
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(why);
  });

  it("a registry in a root-owned directory, a relative one, or another one at hello: refused, and no file of the user's appears where root lives", async () => {
    // bash-completion sources every file in /etc/bash_completion.d: a user-owned tunnels.json or lock there is code in
    // everyone's shell.
    const rootOwned = await mkdtemp(join(files.root, "etc-"));
    const second = {
      ...files,
      runtimeDir: join(files.root, "run2"),
      socketPath: join(files.root, "run2", `helper-${user.uid}.sock`),
    };
    await expect(startHelperIn(lab.host, { ...second, registry: join(rootOwned, "tunnels.json") })).rejects.toThrow(
      /registry directory .* belongs to uid 0, not to the helper's user/,
    );
    await expect(startHelperIn(lab.host, { ...second, registry: "tunnels.json" })).rejects.toThrow(
      /must be an absolute path/,
    );
    await startHelperIn(lab.host, second);
    const conn = await rawConnection(second.socketPath);
    const owner = await user.process();
    const hello = await conn.send(
      JSON.stringify({
        id: 1,
        secret: files.secret,
        op: "hello",
        pid: owner.pid,
        registry: join(rootOwned, "tunnels.json"),
      }),
    );
    expect(hello.error).toBe(`this helper writes ${files.registry}, not ${join(rootOwned, "tunnels.json")}`);
    conn.socket.end();
    expect(await readdir(rootOwned)).toEqual([]);
  });

  it("one session holds at most 32 profiles and 256 routes: the 33rd profile and the 257th route are refused, naming the limit", async () => {
    const cidrsOf = (p: number) => Array.from({ length: 64 }, (_, i) => `10.${200 + p}.${i}.0/24`);
    for (let p = 0; p < 4; p++) {
      const cidrs = cidrsOf(p);
      expect(
        (
          await call({
            op: "declare",
            profile: `p${p}`,
            nodeIp: lab.nodeIp,
            cidrs,
            clusterDomain: "cluster.local",
            clusterDnsIp: "",
          })
        ).ok,
      ).toBe(true);
      const added = await call({ op: "add", profile: `p${p}`, gateway: lab.nodeIp, cidrs });
      expect(added.result.every((o: { kind: string }) => o.kind === "added")).toBe(true);
    }
    expect(
      (
        await call({
          op: "declare",
          profile: "p4",
          nodeIp: lab.nodeIp,
          cidrs: ["10.210.0.0/24"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        })
      ).ok,
    ).toBe(true);
    const over = await call({ op: "add", profile: "p4", gateway: lab.nodeIp, cidrs: ["10.210.0.0/24"] });
    expect(over.error).toBe("this client holds 256 routes; 1 more would pass the 256 one session may hold");
    for (let p = 5; p < 32; p++)
      expect(
        (
          await call({
            op: "declare",
            profile: `p${p}`,
            nodeIp: lab.nodeIp,
            cidrs: [],
            clusterDomain: "cluster.local",
            clusterDnsIp: "",
          })
        ).ok,
      ).toBe(true);
    const extra = await call({
      op: "declare",
      profile: "p32",
      nodeIp: lab.nodeIp,
      cidrs: [],
      clusterDomain: "cluster.local",
      clusterDnsIp: "",
    });
    expect(extra.error).toBe("this client already declared 32 profiles, the most one session may");
  });

  it("root writes the user's registry and its lock as the user, in the user's directory", async () => {
    expect(
      (
        await call({
          op: "declare",
          profile: "minikube",
          nodeIp: lab.nodeIp,
          cidrs: ["10.96.0.0/12"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "10.96.0.10",
        })
      ).ok,
    ).toBe(true);
    expect(
      (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.96.0.0/12"] })).result,
    ).toEqual([{ kind: "added" }]);
    const { stdout } = await run("stat", ["-c", "%u %a", files.registry, `${files.registry}.lock`]);
    expect(
      stdout
        .trim()
        .split("\n")
        .map((l) => l.split(" ")[0]),
    ).toEqual([String(user.uid), String(user.uid)]);
  });
});
