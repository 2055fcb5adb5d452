import { currentProcessIdentity } from "../../registry/process-liveness.js";
import type { ClusterDns, DnsResolver, NamesOwner } from "./dns-resolver.js";
import { type HostsEntry, markerStarted } from "./hosts-block.js";
import { HostsFile, markerWriterAlive } from "./hosts-file.js";
import { dnsResolverFor } from "./platform-dns-resolver.js";

/**
 * What names need root for (docs/architecture.md, "Names"): the hosts file's
 * block, and the OS resolver's setting for the cluster's domain. The helper
 * provides it to a normal user; a root process uses InProcessNames itself.
 */
export interface NamesBackend {
  /** The profile's block in the hosts file; null removes it. */
  setHosts(profile: string, domain: string, entries: readonly HostsEntry[] | null): Promise<void>;
  /** The profile's cluster DNS on the OS resolver; null removes it. Answers what was done. */
  setDns(profile: string, dns: Omit<ClusterDns, "profile"> | null): Promise<string | null>;
  /** Why the OS resolver cannot be used here (Linux without systemd-resolved), or null. */
  dnsUnavailable(): Promise<string | null>;
}

export async function namesOwner(): Promise<NamesOwner> {
  const identity = await currentProcessIdentity();
  return { pid: identity.pid, started: markerStarted(identity.startTime) };
}

export class InProcessNames implements NamesBackend {
  private readonly hostsProfiles = new Set<string>();
  private readonly dnsProfiles = new Set<string>();

  constructor(
    private readonly owner: NamesOwner,
    private readonly hosts: HostsFile,
    private readonly resolver: DnsResolver,
  ) {}

  static async create(runtimeDir: string, options: { hostsPath?: string; tag?: string } = {}): Promise<InProcessNames> {
    const owner = await namesOwner();
    return new InProcessNames(owner, new HostsFile(options.hostsPath), dnsResolverFor(owner, runtimeDir, process.platform, undefined, options.tag));
  }

  async setHosts(profile: string, _domain: string, entries: readonly HostsEntry[] | null): Promise<void> {
    await this.hosts.set({ profile, ...this.owner }, entries);
    if (entries === null) this.hostsProfiles.delete(profile);
    else this.hostsProfiles.add(profile);
  }

  async setDns(profile: string, dns: Omit<ClusterDns, "profile"> | null): Promise<string | null> {
    if (dns === null) {
      this.dnsProfiles.delete(profile);
      await this.resolver.remove(profile);
      return null;
    }
    const done = await this.resolver.apply({ profile, ...dns });
    this.dnsProfiles.add(profile);
    return done;
  }

  dnsUnavailable(): Promise<string | null> {
    return this.resolver.unavailable();
  }

  /** Everything this process set, taken back (the helper's client went away, or root's tunnel stops). */
  async clearAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const profile of [...this.hostsProfiles]) await this.setHosts(profile, "", null).catch((e: Error) => failures.push(`hosts block of ${profile}: ${e.message}`));
    for (const profile of [...this.dnsProfiles]) await this.setDns(profile, null).catch((e: Error) => failures.push(`resolver setting of ${profile}: ${e.message}`));
    return failures;
  }

  /** Blocks and resolver settings whose writer died with its client: cleanup's part for names. */
  async removeStale(): Promise<string[]> {
    const hosts = (await this.hosts.removeStale(markerWriterAlive)).map((p) => `hosts block of ${p}`);
    const dns = await this.resolver.removeStale(markerWriterAlive);
    return [...hosts, ...dns];
  }
}
