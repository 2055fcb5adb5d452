import { execFile } from "node:child_process";
import { appendFile, chmod, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../test-support/eventually.js";
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
if (skip) console.log(`skipped: the helper attacked through names: ${skip}`);

/**
 * The helper's user (and the cluster, which names Services and namespaces)
 * as attackers of the names root writes (docs/security.md, "The root
 * policy"); relays: helper-attacks-relays, pids: helper-attacks-records.
 */
describe.skipIf(skip !== null)("the helper attacked by its own user: names", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let call: (o: Record<string, unknown>) => Promise<Record<string, any>>;
  let conn: Awaited<ReturnType<typeof rawConnection>>;
  const hostsPath = () => join(privateEtc(), "hosts");

  async function connect(options: { umask?: string } = {}): Promise<void> {
    await startHelperIn(lab.host, files, [], options);
    conn = await rawConnection(files.socketPath);
    call = (o) => conn.send(JSON.stringify({ id: 1, secret: files.secret, ...o }));
    const owner = await user.process();
    expect((await call({ op: "hello", pid: owner.pid })).ok).toBe(true);
  }

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
  });
  afterEach(async () => {
    await destroyHelperLab({ lab, user, files });
    await writeFile(hostsPath(), await readFile("/etc/hosts"));
  });

  it.each(["com", "github.com", "co.uk", "io", "k8s.example.com"])(
    "cluster domain %s: no resolver setting would send a public domain's lookups to the user's server, and no name under it is written; routes still work",
    async (domain) => {
      await connect();
      expect(
        (
          await call({
            op: "declare",
            profile: "minikube",
            nodeIp: lab.nodeIp,
            cidrs: ["10.96.0.0/12"],
            clusterDomain: domain,
            clusterDnsIp: "10.96.0.10",
          })
        ).ok,
      ).toBe(true);
      const dns = await call({
        op: "names-dns",
        profile: "minikube",
        dns: { domain, server: "10.96.0.10", gateway: lab.nodeIp },
      });
      expect(dns.error).toMatch(/is in the public DNS/);
      const hosts = await call({
        op: "names-hosts",
        profile: "minikube",
        entries: [{ ip: "10.96.0.20", names: [`web.default.svc.${domain}`, "web.default"] }],
      });
      expect(hosts.result).toEqual({
        written: 1,
        dropped: [{ name: `web.default.svc.${domain}`, reason: "public name" }],
      });
      expect(
        (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.96.0.0/12"] })).result,
      ).toEqual([{ kind: "added" }]);
    },
  );

  it("private cluster domains are accepted, and the resolver setting must name the declared one", async () => {
    await connect();
    for (const domain of ["cluster.local", "k8s.test", "dev.internal", "lab.home.arpa"]) {
      expect(
        (
          await call({
            op: "declare",
            profile: "minikube",
            nodeIp: lab.nodeIp,
            cidrs: ["10.96.0.0/12"],
            clusterDomain: domain,
            clusterDnsIp: "10.96.0.10",
          })
        ).ok,
      ).toBe(true);
    }
    expect(
      (
        await call({
          op: "names-dns",
          profile: "minikube",
          dns: { domain: "github.com", server: "10.96.0.10", gateway: lab.nodeIp },
        })
      ).error,
    ).toBe("domain github.com is not the profile's cluster domain lab.home.arpa");
  });

  it("a cluster domain that would take this machine's own lookups (a whole TLD, a cloud's metadata domain, a search domain) gets no resolver setting; WPAD and names under a search domain are dropped one by one", async () => {
    const resolvConf = join(privateEtc(), "resolv.conf");
    const saved = await readFile(resolvConf, "utf8");
    // A company's search domain of one label, as some hand out.
    await writeFile(resolvConf, "search corp.lan acme\nnameserver 10.255.255.53\n");
    try {
      await connect();
      for (const [domain, why] of [
        ["local", /whole top-level domain/],
        ["google.internal", /would take the lookups of google\.internal/],
        ["corp.lan", /would take the lookups of corp\.lan, one of this machine's search domains/],
      ] as const) {
        expect(
          (
            await call({
              op: "declare",
              profile: "minikube",
              nodeIp: lab.nodeIp,
              cidrs: ["10.96.0.0/12"],
              clusterDomain: domain,
              clusterDnsIp: "10.96.0.10",
            })
          ).ok,
        ).toBe(true);
        expect(
          (
            await call({
              op: "names-dns",
              profile: "minikube",
              dns: { domain, server: "10.96.0.10", gateway: lab.nodeIp },
            })
          ).error,
        ).toMatch(why);
      }
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
      const hosts = await call({
        op: "names-hosts",
        profile: "minikube",
        entries: [{ ip: "10.96.0.20", names: ["wpad.default", "mail.corp.lan", "intranet.acme", "web.default"] }],
      });
      expect(hosts.result).toEqual({
        written: 1,
        dropped: [
          { name: "wpad.default", reason: "wpad is looked up by clients to configure themselves (proxy, tunnel)" },
          { name: "mail.corp.lan", reason: "not a cluster name (<svc>.<ns>.svc.cluster.local, or <svc>.<ns>)" },
          { name: "intranet.acme", reason: "would answer for a name under this machine's search domain acme" },
        ],
      });
      expect(await readFile(hostsPath(), "utf8")).not.toMatch(/wpad|intranet/);
    } finally {
      await writeFile(resolvConf, saved);
    }
  });

  it("names of the local network (mDNS .local, a router's .lan, a company's .corp) never come from a cluster, and a single-label cluster domain gets no full names either", async () => {
    await connect();
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
    const local = ["printer.local", "router.lan", "nas.home", "fileserver.corp", "db.localdomain"];
    const hosts = await call({
      op: "names-hosts",
      profile: "minikube",
      entries: [...local, "web.default"].map((name, i) => ({ ip: `10.96.0.${20 + i}`, names: [name] })),
    });
    expect(hosts.error).toBeUndefined();
    expect(hosts.result.written).toBe(1);
    expect(hosts.result.dropped.map((d: { name: string }) => d.name)).toEqual(local);
    expect(await readFile(hostsPath(), "utf8")).not.toMatch(/printer|router|nas\.home|fileserver|localdomain/);
    expect(
      (
        await call({
          op: "declare",
          profile: "bare",
          nodeIp: lab.nodeIp,
          cidrs: ["10.96.0.0/12"],
          clusterDomain: "local",
          clusterDnsIp: "10.96.0.10",
        })
      ).ok,
    ).toBe(true);
    const bare = await call({
      op: "names-hosts",
      profile: "bare",
      entries: [{ ip: "10.96.0.21", names: ["vm.default.svc.local"] }],
    });
    expect(bare.result).toEqual({
      written: 0,
      dropped: [{ name: "vm.default.svc.local", reason: expect.stringMatching(/whole top-level domain/) }],
    });
  });

  it("no resolver setting goes on a VPN's link: a node declared behind one gets no cluster DNS", async () => {
    await connect();
    const inHost = (...args: string[]) => run("ip", ["-n", lab.host, ...args]);
    await inHost("tuntap", "add", "dev", "tunmkt", "mode", "tun");
    await inHost("link", "set", "tunmkt", "up");
    await inHost("addr", "add", "10.8.0.2/24", "dev", "tunmkt");
    const declare = { op: "declare", profile: "vpn", nodeIp: "10.8.0.1", cidrs: ["10.96.0.0/12"] };
    expect((await call({ ...declare, clusterDomain: "cluster.local", clusterDnsIp: "10.96.0.10" })).ok).toBe(true);
    const dns = await call({
      op: "names-dns",
      profile: "vpn",
      dns: { domain: "cluster.local", server: "10.96.0.10", gateway: "10.8.0.1" },
    });
    expect(dns.error).toBe("10.8.0.1 is reached over tunmkt, a VPN or tunnel link");
  });

  it("public names from the cluster (a Service in namespace tv or io) are dropped one by one; the profile's other names are written", async () => {
    await connect();
    await call({
      op: "declare",
      profile: "minikube",
      nodeIp: null,
      cidrs: [],
      clusterDomain: "cluster.local",
      clusterDnsIp: "",
    });
    const answer = await call({
      op: "names-hosts",
      profile: "minikube",
      entries: [
        { ip: "127.64.0.1", names: ["twitch.tv.svc.cluster.local", "twitch.tv"] },
        { ip: "127.64.0.2", names: ["api.io.svc.cluster.local", "api.io"] },
        { ip: "127.64.0.3", names: ["web.default.svc.cluster.local", "web.default"] },
      ],
    });
    expect(answer.result).toEqual({
      written: 3,
      dropped: [
        { name: "twitch.tv", reason: "public name" },
        { name: "api.io", reason: "public name" },
      ],
    });
    const hosts = await readFile(hostsPath(), "utf8");
    expect(hosts).toContain("127.64.0.1 twitch.tv.svc.cluster.local\n");
    expect(hosts).toContain("127.64.0.3 web.default.svc.cluster.local web.default\n");
    expect(hosts).not.toMatch(/ twitch\.tv$| api\.io$/m);
  });

  it("under umask 077 the hosts file stays 0644 and root's, and bytes in another code page outside our block stay byte for byte", async () => {
    // A Windows-1252 comment (é is 0xE9) and a stray 0xFF: not UTF-8, and must survive exactly.
    const before = Buffer.concat([
      Buffer.from("127.0.0.1 localhost\n# caf"),
      Buffer.from([0xe9, 0x20, 0xff]),
      Buffer.from("\n"),
    ]);
    await writeFile(hostsPath(), before);
    await chmod(hostsPath(), 0o644);
    await connect({ umask: "077" });
    await call({
      op: "declare",
      profile: "minikube",
      nodeIp: null,
      cidrs: [],
      clusterDomain: "cluster.local",
      clusterDnsIp: "",
    });
    expect(
      (await call({ op: "names-hosts", profile: "minikube", entries: [{ ip: "127.64.0.3", names: ["web.default"] }] }))
        .ok,
    ).toBe(true);
    const after = await readFile(hostsPath());
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    const info = await stat(hostsPath());
    expect([info.mode & 0o777, info.uid]).toEqual([0o644, 0]);
    // Another user can still read it: resolving names is not root's privilege.
    const [file, args] = user.as("cat", hostsPath());
    expect((await run(file, args)).stdout).toContain("web.default");
  });

  const forwardProfile = (profile: string) =>
    call({ op: "declare", profile, nodeIp: null, cidrs: [], clusterDomain: "cluster.local", clusterDnsIp: "" });
  /** `count` Services under the two names the tunnel writes for each, at forward-mode addresses. */
  const services = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      ip: `127.64.${i >> 8}.${i & 255}`,
      names: [`s${i}.default.svc.cluster.local`, `s${i}.default`],
    }));
  // Someone else's lines (an ad blocker's list): a hosts file can be large without us.
  const foreign = (bytes: number) => "0.0.0.0 ads.example\n".repeat(Math.floor(bytes / 20));

  it("a client's hosts blocks are bounded: 32 profiles, 8192 names (4096 Services) each; the 33rd profile and a 4097th Service are refused naming the limit, and the file is not touched", async () => {
    await connect();
    for (let i = 0; i < 32; i++) {
      await forwardProfile(`p${i}`);
      expect((await call({ op: "names-hosts", profile: `p${i}`, entries: services(1) })).result).toEqual({
        written: 1,
        dropped: [],
      });
    }
    // The 33rd profile is refused at its declaration already (one session declares at most 32), so it gets no block.
    expect((await forwardProfile("p32")).error).toBe(
      "this client already declared 32 profiles, the most one session may",
    );
    const before = await readFile(hostsPath());
    expect((await call({ op: "names-hosts", profile: "p32", entries: services(1) })).error).toBe(
      'profile "p32" was not declared',
    );
    expect((await readFile(hostsPath())).equals(before)).toBe(true);
    expect((await call({ op: "names-hosts", profile: "p0", entries: services(4096) })).result).toEqual({
      written: 4096,
      dropped: [],
    });
    const thousands = await readFile(hostsPath());
    expect((await call({ op: "names-hosts", profile: "p0", entries: services(4097) })).error).toBe(
      'refusing the hosts block of profile "p0": 8194 names, over the 8192 one profile may write; nothing was written',
    );
    expect((await readFile(hostsPath())).equals(thousands)).toBe(true);
  });

  it("no block makes the hosts file larger than 4 MiB, but ours is still taken back from a 5 MiB file someone else made big: by request, and when the client goes", async () => {
    const small = await readFile(hostsPath(), "latin1");
    await writeFile(hostsPath(), small + foreign(4 * 1024 * 1024 - small.length - 40), "latin1");
    const nearly = await readFile(hostsPath());
    await connect();
    await forwardProfile("minikube");
    expect((await call({ op: "names-hosts", profile: "minikube", entries: services(1) })).error).toMatch(
      /^refusing to write \/etc\/hosts: with this block it would be \d+ bytes, over the 4 MiB \(4194304 bytes\) limit on the hosts file, which every name lookup on this machine reads; nothing was written$/,
    );
    expect((await readFile(hostsPath())).equals(nearly)).toBe(true);

    await writeFile(hostsPath(), small, "latin1");
    expect((await call({ op: "names-hosts", profile: "minikube", entries: services(2) })).ok).toBe(true);
    await appendFile(hostsPath(), foreign(5 * 1024 * 1024), "latin1");
    expect((await call({ op: "names-hosts", profile: "minikube", entries: null })).ok).toBe(true);
    expect(await readFile(hostsPath(), "latin1")).toBe(small + foreign(5 * 1024 * 1024));
    expect((await call({ op: "names-hosts", profile: "minikube", entries: services(1) })).error).toMatch(
      /over the 4 MiB \(4194304 bytes\) limit/,
    );

    await writeFile(hostsPath(), small, "latin1");
    expect((await call({ op: "names-hosts", profile: "minikube", entries: services(2) })).ok).toBe(true);
    await appendFile(hostsPath(), foreign(5 * 1024 * 1024), "latin1");
    conn.socket.destroy();
    await eventually(async () => (await readFile(hostsPath(), "latin1")) === small + foreign(5 * 1024 * 1024), {
      what: "the departed client's block to be taken back from the 5 MiB hosts file",
    });
  });

  it("attack: Ingress hosts and wildcards sent over the helper's socket: only .test/.example names at the declared node are written; a company's, a public, a cluster's name, another address and a whole TLD are dropped with why", async () => {
    await connect();
    const declared = await call({
      op: "declare",
      profile: "minikube",
      nodeIp: lab.nodeIp,
      cidrs: ["10.96.0.0/12"],
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
    });
    expect(declared.ok).toBe(true);
    const ingress = (ip: string, name: string) => ({ ip, names: [name], kind: "ingress" });
    const hosts = await call({
      op: "names-hosts",
      profile: "minikube",
      entries: [
        ingress(lab.nodeIp, "shop.test"),
        ingress(lab.nodeIp, "sso.acme.internal"),
        ingress(lab.nodeIp, "twitch.tv"),
        ingress(lab.nodeIp, "web.default.svc.cluster.local"),
        ingress("203.0.113.7", "evil.test"),
      ],
    });
    expect(hosts.ok).toBe(true);
    const reasons = Object.fromEntries(
      (hosts.result.dropped as { name: string; reason: string }[]).map((d) => [d.name, d.reason]),
    );
    expect(Object.keys(reasons).sort()).toEqual(
      ["evil.test", "sso.acme.internal", "twitch.tv", "web.default.svc.cluster.local"].sort(),
    );
    expect(reasons["sso.acme.internal"]).toMatch(/^not under \.test or \.example/);
    expect(reasons["twitch.tv"]).toBe("public name");
    expect(reasons["web.default.svc.cluster.local"]).toMatch(/^under the cluster domain cluster\.local/);
    const written = await readFile(hostsPath(), "utf8");
    expect(written).toContain(`${lab.nodeIp} shop.test`);
    for (const name of ["sso.acme.internal", "twitch.tv", "evil.test", "203.0.113.7"])
      expect(written).not.toContain(name);

    // A whole top-level domain is not even a request the channel takes.
    const tld = await call({
      op: "names-wildcards",
      profile: "minikube",
      entries: [{ pattern: "*.com", ip: lab.nodeIp, reach: "one-label" }],
    });
    expect(tld).toMatchObject({ ok: false, error: expect.stringMatching(/invalid wildcard pattern/) });
    const wildcards = await call({
      op: "names-wildcards",
      profile: "minikube",
      entries: [
        { pattern: "*.corp.internal", ip: lab.nodeIp, reach: "one-label" },
        { pattern: "*.evil.test", ip: "203.0.113.7", reach: "one-label" },
      ],
    });
    expect(wildcards.ok).toBe(true);
    expect((wildcards.result.dropped as { name: string }[]).map((d) => d.name).sort()).toEqual(
      ["*.corp.internal", "*.evil.test"].sort(),
    );
  });
});
