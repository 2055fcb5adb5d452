import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import ipaddr from "ipaddr.js";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import { FileGuard } from "../files/guarded-files.js";
import type { DnsResolver, NamesOwner, ProfileDns } from "./dns-resolver.js";

interface Applied {
  readonly profile: string;
  readonly ifindex: number;
  readonly dev: string;
  readonly server: string;
}

const DEST = "org.freedesktop.resolve1";
const MANAGER = ["/org/freedesktop/resolve1", "org.freedesktop.resolve1.Manager"] as const;
const TIMEOUT = { timeoutMs: 10_000 };

/** `ia(iay)` arguments: a family (AF_INET 2, AF_INET6 10) and the address bytes. */
function addressArgs(ip: string): string[] {
  const addr = ipaddr.parse(ip);
  return [
    addr.kind() === "ipv4" ? "2" : "10",
    ...(() => {
      const bytes = addr.toByteArray();
      return [String(bytes.length), ...bytes.map(String)];
    })(),
  ];
}

/**
 * Linux with systemd-resolved, through its documented D-Bus API
 * (org.freedesktop.resolve1(5)) by `busctl`: the cluster's DNS server and a
 * routing-only domain `~<domain>` on the link the route to the node leaves
 * by. resolved binds its queries to that link, so they really reach the node
 * (a dummy link would swallow them). The link must carry no DNS of its own:
 * we never overwrite settings that are not ours.
 */
export class SystemdResolved implements DnsResolver {
  readonly kind = "systemd-resolved";
  private readonly applied = new Map<string, Applied>();

  constructor(
    private readonly owner: NamesOwner,
    /**
     * Root's runtime directory: a record of what we set, so cleanup can undo it after a crash (resolved keeps it until
     * the link goes).
     */
    private readonly runtimeDir: string,
    private readonly runner: CommandRunner = execFileRunner,
    /** Tells apart the records of one process's sessions (the installed helper serves several clients). */
    private readonly tag = "",
  ) {}

  private get recordPath(): string {
    return join(this.runtimeDir, `resolved-${this.owner.pid}${this.tag ? `-${this.tag}` : ""}.json`);
  }

  private async record(): Promise<void> {
    const applied = [...this.applied.values()];
    if (applied.length === 0) return void (await rm(this.recordPath, { force: true }));
    await mkdir(this.runtimeDir, { recursive: true, mode: 0o755 });
    await FileGuard.strictFor({ uid: 0, gid: 0 }).replace(
      this.recordPath,
      `${JSON.stringify({ started: this.owner.started, applied })}\n`,
      { mode: 0o644 },
    );
  }

  private async busctl(args: string[]): Promise<string> {
    const result = await this.runner.run("busctl", ["--system", ...args], TIMEOUT);
    if (result.exitCode !== 0)
      throw new Error(`busctl ${args.slice(0, 4).join(" ")} failed: ${(result.stderr || result.stdout).trim()}`);
    return result.stdout;
  }

  async unavailable(): Promise<string | null> {
    try {
      await this.busctl(["call", DEST, MANAGER[0], "org.freedesktop.DBus.Peer", "Ping"]);
      return null;
    } catch (error) {
      return `systemd-resolved does not answer on the system bus (${(error as Error).message.split("\n")[0]})`;
    }
  }

  /** The interface the kernel sends packets to `gateway` through, and its index. */
  async linkTo(gateway: string): Promise<{ dev: string; ifindex: number }> {
    const route = await this.runner.run("ip", ["-j", "route", "get", gateway], TIMEOUT);
    const dev = (JSON.parse(route.stdout || "[]") as { dev?: string }[])[0]?.dev;
    if (route.exitCode !== 0 || !dev) throw new Error(`no route to the node ${gateway}: ${route.stderr.trim()}`);
    const link = await this.runner.run("ip", ["-j", "link", "show", "dev", dev], TIMEOUT);
    const ifindex = (JSON.parse(link.stdout || "[]") as { ifindex?: number }[])[0]?.ifindex;
    if (!ifindex) throw new Error(`cannot find the index of link ${dev}`);
    return { dev, ifindex };
  }

  /** The DNS servers resolved has for a link, as addresses. */
  async linkServers(ifindex: number): Promise<string[]> {
    const path = JSON.parse(
      await this.busctl(["--json=short", "call", DEST, ...MANAGER, "GetLink", "i", String(ifindex)]),
    ).data[0] as string;
    const dns = JSON.parse(
      await this.busctl(["--json=short", "get-property", DEST, path, "org.freedesktop.resolve1.Link", "DNS"]),
    ).data as [number, number[]][];
    return dns.map(([, bytes]) => ipaddr.fromByteArray(bytes).toString());
  }

  async apply(dns: ProfileDns): Promise<string> {
    const { dev, ifindex } = await this.linkTo(dns.gateway);
    const servers = await this.linkServers(ifindex);
    if (servers.length > 0 && !(servers.length === 1 && servers[0] === dns.server)) {
      throw new Error(
        `link ${dev} already has DNS servers (${servers.join(", ")}) that are not ours; leaving its resolver settings alone`,
      );
    }
    // Recorded before the first change: a setting half made (a later busctl failing) is still taken back.
    this.applied.set(dns.profile, { profile: dns.profile, ifindex, dev, server: dns.server });
    await this.record();
    await this.busctl([
      "call",
      DEST,
      ...MANAGER,
      "SetLinkDNS",
      "ia(iay)",
      String(ifindex),
      "1",
      ...addressArgs(dns.server),
    ]);
    await this.busctl(["call", DEST, ...MANAGER, "SetLinkDomains", "ia(sb)", String(ifindex), "1", dns.domain, "true"]);
    // Only the cluster's names go there, never the machine's other lookups.
    await this.busctl(["call", DEST, ...MANAGER, "SetLinkDefaultRoute", "ib", String(ifindex), "false"]);
    return `${dns.server} for ~${dns.domain} on link ${dev} (systemd-resolved)`;
  }

  async remove(profile: string): Promise<void> {
    const applied = this.applied.get(profile);
    if (!applied) return;
    await this.revertIfOurs(applied.ifindex, applied.server);
    this.applied.delete(profile);
    await this.record();
  }

  /** Links a crashed writer left configured: reverted while they still hold exactly its settings. */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    const reverted: string[] = [];
    for (const name of await readdir(this.runtimeDir).catch(() => [] as string[])) {
      const match = /^resolved-(\d+)(-[a-z0-9]+)?\.json$/.exec(name);
      if (!match) continue;
      const path = join(this.runtimeDir, name);
      const record = JSON.parse((await readFile(path, "utf8").catch(() => "null")) ?? "null") as {
        started: string;
        applied: Applied[];
      } | null;
      if (!record || (await isAlive(Number(match[1]), record.started))) continue;
      for (const a of record.applied)
        if (await this.revertIfOurs(a.ifindex, a.server).catch(() => false)) reverted.push(`${a.dev} (${a.profile})`);
      await rm(path, { force: true });
    }
    return reverted;
  }

  /** RevertLink, but only while the link still has exactly what we set: someone else's change is theirs. */
  async revertIfOurs(ifindex: number, server: string): Promise<boolean> {
    const servers = await this.linkServers(ifindex).catch(() => null);
    if (!servers || servers.length !== 1 || servers[0] !== server) return false;
    await this.busctl(["call", DEST, ...MANAGER, "RevertLink", "i", String(ifindex)]);
    return true;
  }

  profiles(): string[] {
    return [...this.applied.keys()];
  }
}
