import type { ClusterDns, HostsEntry } from "../root.js";
import type { DnsResolver, NamesOwner } from "./dns-resolver.js";
import { HostsFile } from "./hosts-file.js";
import { dnsResolverFor } from "./platform-dns-resolver.js";
import { markerWriterAlive } from "./writer-liveness.js";

/**
 * Root's writers of cluster names (docs/architecture.md, "Names"): the
 * hosts file's block and the OS resolver's setting for a cluster's domain,
 * each marked with its owner (the process whose life they follow), and
 * taken back by that owner's session or, after a crash, by cleanup. The
 * policy on what may be written is the session's (root-session.ts).
 */
export class NamesWriter {
  private readonly hostsProfiles = new Set<string>();
  private readonly dnsProfiles = new Set<string>();

  constructor(
    private readonly owner: NamesOwner,
    private readonly hosts: HostsFile,
    private readonly resolver: DnsResolver,
  ) {}

  static forPlatform(owner: NamesOwner, runtimeDir: string, options: { hostsPath?: string; tag?: string } = {}): NamesWriter {
    return new NamesWriter(owner, new HostsFile(options.hostsPath), dnsResolverFor(owner, runtimeDir, process.platform, undefined, options.tag));
  }

  async setHosts(profile: string, entries: readonly HostsEntry[] | null): Promise<void> {
    await this.hosts.set({ profile, ...this.owner }, entries);
    if (entries === null) this.hostsProfiles.delete(profile);
    else this.hostsProfiles.add(profile);
  }

  async setDns(profile: string, dns: ClusterDns | null): Promise<string | null> {
    if (dns === null) {
      // Forgotten only once taken back: a failed removal is tried again when the session ends.
      await this.resolver.remove(profile);
      this.dnsProfiles.delete(profile);
      return null;
    }
    // Noted before it is applied: a half-applied setting is still taken back.
    this.dnsProfiles.add(profile);
    return this.resolver.apply({ profile, ...dns });
  }

  dnsUnavailable(): Promise<string | null> {
    return this.resolver.unavailable();
  }

  /** Everything this owner set, taken back (its session ended). */
  async clearAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const profile of [...this.hostsProfiles]) await this.setHosts(profile, null).catch((e: Error) => failures.push(`hosts block of ${profile}: ${e.message}`));
    for (const profile of [...this.dnsProfiles]) await this.setDns(profile, null).catch((e: Error) => failures.push(`resolver setting of ${profile}: ${e.message}`));
    return failures;
  }

  /** Blocks and resolver settings whose writer died with its client: cleanup's part for names. */
  async removeStale(): Promise<string[]> {
    const hosts = (await this.hosts.removeStale()).map((p) => `hosts block of ${p}`);
    const dns = await this.resolver.removeStale(markerWriterAlive);
    return [...hosts, ...dns];
  }
}
