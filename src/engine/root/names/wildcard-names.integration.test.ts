import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetnsLab, labUnavailableReason } from "../../../../test-support/netns-lab.js";
import { inPrivateEtc, privateEtc } from "../../../../test-support/private-etc.js";
import { ResolvedLab, resolvedUnavailableReason } from "../../../../test-support/resolved-lab.js";

const run = promisify(execFile);
const skip = labUnavailableReason() ?? resolvedUnavailableReason();
if (skip) console.log(`skipped: wildcard names through a real systemd-resolved: ${skip}`);

const PROC = join(import.meta.dirname, "..", "..", "..", "..", "test-support", "wildcard-service-proc.ts");
const ROOT = join(import.meta.dirname, "..", "..", "..", "..");

/** The wildcard service in the lab's host namespace, on the lab's resolved; commands in, answers out. */
class ServiceProc {
  private readonly answers: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  readonly exited: Promise<unknown>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (this.waiting) this.waiting(line);
      else this.answers.push(line);
    });
    this.exited = new Promise((r) => child.once("exit", r));
  }

  static start(lab: NetnsLab, resolved: ResolvedLab, runtimeDir: string): ServiceProc {
    // One process (tsx's loader, not its CLI, which would run the script in a child): kill -9 kills root's.
    const child = spawn("ip", ["netns", "exec", lab.host, process.execPath, "--import", "tsx", PROC, runtimeDir], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: resolved.busAddress },
    });
    return new ServiceProc(child);
  }

  async send<T>(command: object): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    const line =
      this.answers.shift() ??
      (await new Promise<string>((resolve, reject) => {
        this.waiting = (l) => ((this.waiting = null), resolve(l));
        this.child.once("exit", () => reject(new Error("the service process exited")));
      }));
    return JSON.parse(line) as T;
  }
}

/**
 * Wildcard names end to end on Linux: root's DNS responder and its link, against a real systemd-resolved (Debian's,
 * on a private bus, in the lab's host namespace). Lookups go the way every program's do: getent (glibc, nss dns) →
 * 127.0.0.53 → resolved → the link's routing domain → the responder.
 */
describe.skipIf(skip !== null)("wildcard names through a real systemd-resolved", () => {
  let lab: NetnsLab;
  let resolved: ResolvedLab;
  let runtimeDir: string;
  const procs: ServiceProc[] = [];

  const inHost = (file: string, ...args: string[]) => {
    const [cmd, argv] = inPrivateEtc("ip", ["netns", "exec", lab.host, file, ...args]);
    return run(cmd, argv).then(
      (r) => r.stdout.trim(),
      (e: { code?: number }) => `exit ${e.code}`,
    );
  };
  const links = async () =>
    (JSON.parse((await run("ip", ["-n", lab.host, "-j", "link", "show"])).stdout) as { ifname: string }[])
      .map((l) => l.ifname)
      .filter((n) => n.startsWith("mktdns"));
  const start = () => {
    const proc = ServiceProc.start(lab, resolved, runtimeDir);
    procs.push(proc);
    return proc;
  };

  beforeEach(async () => {
    lab = await NetnsLab.create();
    resolved = await ResolvedLab.start(lab);
    runtimeDir = await mkdtemp(join(tmpdir(), "mkt-run-"));
    await writeFile(join(privateEtc(), "resolv.conf"), "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
    await lab.startTcpServer(lab.nodeIp, 80, "shop");
  });

  afterEach(async () => {
    for (const proc of procs.splice(0)) {
      proc.child.kill("SIGKILL");
      await proc.exited;
    }
    await resolved?.stop();
    await lab.destroy();
    if (runtimeDir) await rm(runtimeDir, { recursive: true, force: true });
  });

  it("getent and curl reach api.shop.test through resolved and the responder; other names are not ours; taking back deletes the link", async () => {
    const service = start();
    const result = await service.send<{ how?: string; dropped: unknown[] }>({
      op: "set",
      profile: "minikube",
      entries: [
        { pattern: "*.shop.test", ip: lab.nodeIp, reach: "one-label" },
        { pattern: "*.gw.test", ip: lab.nodeIp, reach: "one-or-more-labels" },
      ],
    });
    expect(result).toEqual({
      how: "DNS responder 127.64.255.255:53, ~gw.test ~shop.test on link mktdns0 (systemd-resolved)",
      dropped: [],
    });
    expect(await inHost("getent", "hosts", "api.shop.test")).toMatch(/^192\.168\.49\.2\s+api\.shop\.test$/);
    expect(await inHost("getent", "hosts", "a.b.gw.test")).toMatch(/^192\.168\.49\.2\s/);
    expect(await inHost("curl", "-s", "--http0.9", "--max-time", "5", "http://api.shop.test/")).toBe("shop");
    // One label only for an Ingress wildcard; names outside every pattern never reach the responder's answers.
    expect(await inHost("getent", "hosts", "a.b.shop.test")).toBe("exit 2");
    expect(await inHost("getent", "hosts", "example.test")).toBe("exit 2");

    expect(await service.send({ op: "set", profile: "minikube", entries: null })).toEqual({ dropped: [] });
    expect(await links()).toEqual([]);
    expect(await inHost("getent", "hosts", "api.shop.test")).toBe("exit 2");
    expect(await readdir(runtimeDir)).toEqual([]);
  });

  it("kill -9: cleanup deletes the link the dead root process left, from its record", async () => {
    const service = start();
    await service.send({
      op: "set",
      profile: "minikube",
      entries: [{ pattern: "*.shop.test", ip: lab.nodeIp, reach: "one-label" }],
    });
    expect(await links()).toEqual(["mktdns0"]);
    service.child.kill("SIGKILL");
    await service.exited;
    expect(await links()).toEqual(["mktdns0"]);
    const next = start();
    expect(await next.send({ op: "stale" })).toEqual(["mktdns0 (wildcard names)"]);
    expect(await links()).toEqual([]);
    expect(await readdir(runtimeDir)).toEqual([]);
    // A live process's link is never taken: the next one's survives another cleanup.
    await next.send({
      op: "set",
      profile: "minikube",
      entries: [{ pattern: "*.shop.test", ip: lab.nodeIp, reach: "one-label" }],
    });
    expect(await next.send({ op: "stale" })).toEqual([]);
    expect(await links()).toEqual(["mktdns0"]);
  });
});
