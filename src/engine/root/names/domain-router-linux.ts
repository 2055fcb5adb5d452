import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import type { NamesOwner } from "./dns-resolver.js";
import type { DomainRouter, RouterResult } from "./domain-router.js";
import { WildcardRecords } from "./wildcard-record.js";

const DEST = "org.freedesktop.resolve1";
const MANAGER = ["/org/freedesktop/resolve1", "org.freedesktop.resolve1.Manager"] as const;
const TIMEOUT = { timeoutMs: 10_000 };
/**
 * Link kinds tried in order: a dummy link is the usual one; kernels built without it (some containers' and VMs') still
 * have ifb and bridge. Each, up and with no ports, carries nothing: it exists only for resolved's per-link settings.
 */
const KINDS = ["dummy", "ifb", "bridge"];

/**
 * Linux with systemd-resolved: the OS side of root's DNS responder (docs/architecture.md, "Ingress and Gateway
 * names", "Wildcards"). A link of ours (`mktdns<n>`) carrying the responder's loopback address, with that address as
 * its DNS server and the wildcards' domains as routing-only domains (`~shop.test`), never the default route, no LLMNR or
 * mDNS. The address sits on the link because resolved sends a link's queries out through that link (IP_UNICAST_IF) and
 * counts a link only once it has an address wider than link scope. Deleting the link takes every setting back; a
 * record in root's runtime directory, written before the link exists, lets cleanup delete it after a crash.
 */
export class DomainRouterLinux implements DomainRouter {
  private link: { name: string; ifindex: number } | null = null;
  /** The link this router made, and only that one, is deleted by `down`: a link of that name may be anyone's. */
  private created: string | null = null;
  private readonly records: WildcardRecords;

  constructor(
    self: NamesOwner,
    runtimeDir: string,
    private readonly runner: CommandRunner = execFileRunner,
  ) {
    this.records = new WildcardRecords(self, runtimeDir);
  }

  private async run(file: string, args: string[]): Promise<string> {
    const result = await this.runner.run(file, args, TIMEOUT);
    if (result.exitCode !== 0)
      throw new Error(`${file} ${args.slice(0, 5).join(" ")} failed: ${(result.stderr || result.stdout).trim()}`);
    return result.stdout;
  }

  private busctl(method: string, signature: string, ...args: string[]): Promise<string> {
    return this.run("busctl", ["--system", "call", DEST, ...MANAGER, method, signature, ...args]);
  }

  /** null where resolved answers on the system bus; otherwise the reason shown for every wildcard. */
  async unavailable(): Promise<string | null> {
    const ping = await this.runner.run(
      "busctl",
      ["--system", "call", DEST, MANAGER[0], "org.freedesktop.DBus.Peer", "Ping"],
      TIMEOUT,
    );
    return ping.exitCode === 0 ? null : "no per-domain resolver on this system (Linux without systemd-resolved)";
  }

  /**
   * Whether a link of this name exists already (someone else's, or a stale one cleanup has not taken yet), or another
   * root process recorded it: it may be about to make it.
   */
  async taken(name: string): Promise<boolean> {
    return (await this.records.takenByOther(name)) || (await this.exists(name));
  }

  private async exists(name: string): Promise<boolean> {
    return (await this.runner.run("ip", ["link", "show", "dev", name], TIMEOUT)).exitCode === 0;
  }

  /** Nothing before the responder listens: Linux answers every 127/8 address; `up` records and makes the link. */
  async claim(): Promise<void> {}

  /** The link `name` with `address` as resolved's DNS server for `domains`; answers what was done, for the status. */
  async up(name: string, address: string, domains: readonly string[]): Promise<RouterResult> {
    if (!this.link) {
      // Recorded before the link exists: a crash between the two leaves something cleanup can find.
      await this.records.write(name, address);
      try {
        await this.create(name, address);
      } catch (error) {
        await this.down(name);
        throw error;
      }
    }
    await this.setDomains(domains);
    return {
      how: `DNS responder ${address}:53, ${domains.map((d) => `~${d}`).join(" ")} on link ${name} (systemd-resolved)`,
    };
  }

  private async create(name: string, address: string): Promise<void> {
    let made = false;
    for (const kind of KINDS) {
      const result = await this.runner.run("ip", ["link", "add", name, "type", kind], TIMEOUT);
      if (result.exitCode === 0) {
        made = true;
        this.created = name;
        break;
      }
      if (!/unknown device type|not supported/i.test(result.stderr)) throw new Error(result.stderr.trim());
    }
    if (!made) throw new Error(`this kernel makes none of the link kinds ${KINDS.join(", ")}`);
    await this.run("ip", ["link", "set", "dev", name, "up"]);
    await this.run("ip", ["addr", "add", `${address}/32`, "dev", name, "scope", "global"]);
    const shown = JSON.parse(await this.run("ip", ["-j", "link", "show", "dev", name])) as { ifindex?: number }[];
    const ifindex = shown[0]?.ifindex;
    if (!ifindex) throw new Error(`cannot find the index of link ${name}`);
    this.link = { name, ifindex };
    const i = String(ifindex);
    const octets = address.split(".");
    await this.busctl("SetLinkDNS", "ia(iay)", i, "1", "2", "4", ...octets);
    // Only the wildcards' domains go there, never the machine's other lookups, and nothing multicast.
    await this.busctl("SetLinkDefaultRoute", "ib", i, "false");
    await this.busctl("SetLinkLLMNR", "is", i, "no");
    await this.busctl("SetLinkMulticastDNS", "is", i, "no");
    // The responder signs nothing: a global DNSSEC setting must not make its answers bogus.
    await this.busctl("SetLinkDNSSEC", "is", i, "no");
  }

  private async setDomains(domains: readonly string[]): Promise<void> {
    const link = this.link!;
    await this.busctl(
      "SetLinkDomains",
      "ia(sb)",
      String(link.ifindex),
      String(domains.length),
      ...domains.flatMap((d) => [d, "true"]),
    );
  }

  /** Deletes the link if this router made it (resolved forgets its settings with it), and the record. */
  async down(name: string): Promise<void> {
    this.link = null;
    const ours = this.created === name;
    this.created = null;
    if (ours && (await this.exists(name))) await this.run("ip", ["link", "del", "dev", name]);
    await this.records.remove();
  }

  /** Links whose root process is gone (killed, crashed): deleted while they still carry the recorded address. */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    for (const record of await this.records.all()) {
      if (await isAlive(record.pid, record.started)) continue;
      if (await this.carries(record.link, record.address)) {
        await this.run("ip", ["link", "del", "dev", record.link]);
        removed.push(`${record.link} (wildcard names)`);
      }
      await record.forget();
    }
    return removed;
  }

  /** Whether the link exists with the address we put on it: a link of that name made by someone else stays. */
  private async carries(name: string, address: string): Promise<boolean> {
    const result = await this.runner.run("ip", ["-j", "addr", "show", "dev", name], TIMEOUT);
    if (result.exitCode !== 0) return false;
    const links = JSON.parse(result.stdout || "[]") as { addr_info?: { local?: string }[] }[];
    return links.some((l) => l.addr_info?.some((a) => a.local === address));
  }
}
