import { type ChildProcess, execFile, spawn } from "node:child_process";
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
if (skip) console.log(`skipped: the helper attacked through names, ports and pids: ${skip}`);

/** What minikube does to judge an entry alive (kill(pid, 0), any error = dead), run as the user minikube runs as. */
async function aliveToMinikube(user: TestUser, pid: number): Promise<boolean> {
  const [file, args] = user.as(
    process.execPath,
    "-e",
    `try { process.kill(${pid}, 0); console.log("alive"); } catch { console.log("dead"); }`,
  );
  return (await run(file, args)).stdout.trim() === "alive";
}

/**
 * The helper's user (and the cluster, which names Services and namespaces)
 * as attackers of the names root writes, the ports it relays and the pids
 * it records (docs/security.md, "The root policy").
 */
describe.skipIf(skip !== null)("the helper attacked by its own user: names, relays and pids", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let owner: { pid: number; stop: () => void };
  let call: (o: Record<string, unknown>) => Promise<Record<string, any>>;
  let conn: Awaited<ReturnType<typeof rawConnection>>;
  const hostsPath = () => join(privateEtc(), "hosts");
  const children: ChildProcess[] = [];

  async function connect(options: { umask?: string } = {}): Promise<void> {
    await startHelperIn(lab.host, files, [], options);
    conn = await rawConnection(files.socketPath);
    call = (o) => conn.send(JSON.stringify({ id: 1, secret: files.secret, ...o }));
    owner = await user.process();
    expect((await call({ op: "hello", pid: owner.pid })).ok).toBe(true);
  }

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
  });
  afterEach(async () => {
    // The squatter runs as nobody, not as the test user whose processes go with the user.
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
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
    // OpenWrt and many home routers hand out the search domain "lan".
    await writeFile(resolvConf, "search corp.lan lan\nnameserver 10.255.255.53\n");
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
        entries: [{ ip: "10.96.0.20", names: ["wpad.default", "mail.corp.lan", "intranet.lan", "web.default"] }],
      });
      expect(hosts.result).toEqual({
        written: 1,
        dropped: [
          { name: "wpad.default", reason: "wpad is looked up by clients to configure themselves (proxy, tunnel)" },
          { name: "mail.corp.lan", reason: "not a cluster name (<svc>.<ns>.svc.cluster.local, or <svc>.<ns>)" },
          { name: "intranet.lan", reason: "would answer for a name under this machine's search domain lan" },
        ],
      });
      expect(await readFile(hostsPath(), "utf8")).not.toMatch(/wpad|intranet/);
    } finally {
      await writeFile(resolvConf, saved);
    }
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

  it("another user who takes the relay's target port while the user's listener is down never receives root's relayed traffic", async () => {
    await connect();
    const address = "127.64.0.5";
    expect((await call({ op: "relay", address, port: 80, targetPort: 18080 })).ok).toBe(true);
    // nobody squats the user's port on that address.
    const squatter = `let n=0;require("net").createServer((s)=>{n++;s.end("squatter")}).listen(18080,${JSON.stringify(address)},()=>console.log("up"));process.on("SIGTERM",()=>{console.error("served "+n);process.exit(0)})`;
    const child = spawn(
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
        squatter,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    let served = "";
    child.stderr.on("data", (c: Buffer) => (served += c.toString()));
    await new Promise((resolve) => child.stdout.once("data", resolve));
    expect(await lab.connectFromHost(address, 80)).toBe("");
    child.kill("SIGTERM");
    await eventually(() => served.includes("served"), { what: "the squatter to stop" });
    expect(served.trim()).toBe("served 0");
    // The user's own listener there: relayed.
    const own = `require("net").createServer((s)=>s.end("mine")).listen(18080,${JSON.stringify(address)},()=>console.log("up"))`;
    const [file, args] = user.as(process.execPath, "-e", own);
    const mine = spawn("ip", ["netns", "exec", lab.host, file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(mine);
    await new Promise((resolve) => mine.stdout.once("data", resolve));
    expect(await lab.connectFromHost(address, 80)).toBe("mine");
    mine.kill("SIGKILL");
  });

  it("entries carry the client's pid, alive to minikube's own rule while the client runs (the helper's pid would read as dead: EPERM)", async () => {
    await connect();
    await call({
      op: "declare",
      profile: "minikube",
      nodeIp: lab.nodeIp,
      cidrs: ["10.96.0.0/12"],
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
    });
    expect(
      (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.96.0.0/12"] })).result,
    ).toEqual([{ kind: "added" }]);
    const [entry] = JSON.parse(await readFile(files.registry, "utf8"));
    expect(entry.Pid).toBe(owner.pid);
    expect(await aliveToMinikube(user, entry.Pid)).toBe(true);
    const helperPid = Number(
      (await run("pgrep", ["-f", "--", `--secret-file ${files.secretFile}`])).stdout.trim().split("\n")[0],
    );
    expect(await aliveToMinikube(user, helperPid)).toBe(false);
    owner.stop();
    await eventually(async () => !(await aliveToMinikube(user, entry.Pid)), {
      what: "the client's pid to read as dead",
    });
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
    await forwardProfile("p32");
    const before = await readFile(hostsPath());
    expect((await call({ op: "names-hosts", profile: "p32", entries: services(1) })).error).toBe(
      'refusing a hosts block for profile "p32": this client already has blocks for 32 profiles, the most one session may write',
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

  it("a client holds at most 64 relays, and none on a system service's port even on loopback (53 is refused, named); 80 and 443 are relayed", async () => {
    await connect();
    const address = "127.64.1.0";
    const own = `const net=require("net");let up=0;for(const p of [18080,18443])net.createServer((s)=>s.end("mine "+p)).listen(p,${JSON.stringify(address)},()=>{if(++up===2)console.log("up")})`;
    const [file, args] = user.as(process.execPath, "-e", own);
    const mine = spawn("ip", ["netns", "exec", lab.host, file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(mine);
    await new Promise((resolve) => mine.stdout.once("data", resolve));
    expect((await call({ op: "relay", address, port: 80, targetPort: 18080 })).ok).toBe(true);
    expect((await call({ op: "relay", address, port: 443, targetPort: 18443 })).ok).toBe(true);
    expect(await lab.connectFromHost(address, 80)).toBe("mine 18080");
    expect(await lab.connectFromHost(address, 443)).toBe("mine 18443");

    expect((await call({ op: "relay", address, port: 53, targetPort: 18080 })).error).toMatch(
      /^refusing to relay 127\.64\.1\.0:53: port 53 \(DNS\) is a system service's port/,
    );
    expect(await lab.connectFromHost(address, 53)).toBe("ECONNREFUSED");

    for (let i = 1; i <= 62; i++)
      expect((await call({ op: "relay", address: `127.64.1.${i}`, port: 80, targetPort: 18080 })).ok).toBe(true);
    expect((await call({ op: "relay", address: "127.64.1.63", port: 80, targetPort: 18080 })).error).toBe(
      "refusing to relay 127.64.1.63:80: this client already holds 64 relayed ports, the most one session may",
    );
    expect(await lab.connectFromHost("127.64.1.63", 80)).toBe("ECONNREFUSED");
    expect((await call({ op: "unrelay", address: "127.64.1.62", port: 80 })).ok).toBe(true);
    expect((await call({ op: "relay", address: "127.64.1.63", port: 80, targetPort: 18080 })).ok).toBe(true);
    mine.kill("SIGKILL");
  });
});
