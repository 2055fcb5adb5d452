import { PolicyError } from "../policy/policy-error.js";
import type { ClusterDns, HostsEntry, WildcardEntry, WildcardsResult } from "../root.js";
import type { DnsResolver, NamesOwner } from "./dns-resolver.js";
import { HostsFile } from "./hosts-file.js";
import { dnsResolverFor } from "./platform-dns-resolver.js";
import { WildcardNames, sharedWildcardService } from "./wildcard-names.js";
import { markerWriterAlive } from "./writer-liveness.js";

/**
 * One session's share of the hosts file, which every lookup on the machine
 * reads (hosts-file.ts, which also caps the whole file at 4 MiB). Profiles:
 * each is a minikube cluster with nodes of its own, and forward mode has
 * room for 64 (a /16 each of 127.64.0.0/10); 32 at once is far more than
 * one machine runs.
 * Names: the tunnel writes two per Service (`svc.ns.svc.<domain>` and
 * `svc.ns`), so 8192 is 4096 Services in one profile: a cluster with
 * thousands of them still gets all its names, in about 0.3 MiB.
 */
export const MAX_HOSTS_PROFILES = 32;
export const MAX_NAMES_PER_PROFILE = 8192;

/**
 * Root's writers of cluster names (docs/architecture.md, "Names"): the
 * hosts file's block and the OS resolver's setting for a cluster's domain,
 * each marked with its owner (the process whose life they follow), and
 * taken back by that owner's session or, after a crash, by cleanup. The
 * policy on what may be written is the session's (root-session.ts).
 */
export class NamesWriter {
  private readonly hostsProfiles = new Set<string>();
  /** Profiles whose block is being written, by how many writes: they count against the limit before they land. */
  private readonly hostsWriting = new Map<string, number>();
  private readonly dnsProfiles = new Set<string>();

  constructor(
    private readonly owner: NamesOwner,
    private readonly hosts: HostsFile,
    private readonly resolver: DnsResolver,
    /** Wildcard names, through this root process's DNS responder; null: none (they are shown as not mapped). */
    private readonly wildcards: WildcardNames | null = null,
  ) {}

  static forPlatform(
    owner: NamesOwner,
    runtimeDir: string,
    options: { hostsPath?: string; tag?: string } = {},
  ): NamesWriter {
    return new NamesWriter(
      owner,
      new HostsFile(options.hostsPath),
      dnsResolverFor(owner, runtimeDir, process.platform, undefined, options.tag),
      new WildcardNames(sharedWildcardService(runtimeDir)),
    );
  }

  async setHosts(profile: string, entries: readonly HostsEntry[] | null): Promise<void> {
    if (entries === null) {
      // Never limited: taking a block back must always be possible.
      await this.hosts.set({ profile, ...this.owner }, null);
      this.hostsProfiles.delete(profile);
      return;
    }
    const names = entries.reduce((n, e) => n + e.names.length, 0);
    if (names > MAX_NAMES_PER_PROFILE)
      throw new PolicyError(
        `refusing the hosts block of profile "${profile}": ${names} names, over the ${MAX_NAMES_PER_PROFILE} one profile may write; nothing was written`,
      );
    // Checked and claimed before the first await, so writes of several profiles at once cannot all pass.
    const claimed = new Set([...this.hostsProfiles, ...this.hostsWriting.keys()]);
    if (!claimed.has(profile) && claimed.size >= MAX_HOSTS_PROFILES) {
      throw new PolicyError(
        `refusing a hosts block for profile "${profile}": this client already has blocks for ${MAX_HOSTS_PROFILES} profiles, the most one session may write`,
      );
    }
    this.hostsWriting.set(profile, (this.hostsWriting.get(profile) ?? 0) + 1);
    try {
      await this.hosts.set({ profile, ...this.owner }, entries);
      this.hostsProfiles.add(profile);
    } finally {
      const left = this.hostsWriting.get(profile)! - 1;
      if (left > 0) this.hostsWriting.set(profile, left);
      else this.hostsWriting.delete(profile);
    }
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

  /** The profile's wildcards on root's DNS responder (judged by the session first); null takes them back. */
  async setWildcards(profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    if (!this.wildcards)
      return {
        dropped: (entries ?? []).map((e) => ({ name: e.pattern, reason: "wildcard (needs the DNS responder)" })),
      };
    return this.wildcards.set(profile, entries);
  }

  /** Everything this owner set, taken back (its session ended). */
  async clearAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const profile of [...this.hostsProfiles])
      await this.setHosts(profile, null).catch((e: Error) => failures.push(`hosts block of ${profile}: ${e.message}`));
    for (const profile of [...this.dnsProfiles])
      await this.setDns(profile, null).catch((e: Error) =>
        failures.push(`resolver setting of ${profile}: ${e.message}`),
      );
    failures.push(...((await this.wildcards?.clearAll()) ?? []));
    return failures;
  }

  /** Blocks and resolver settings whose writer died with its client: cleanup's part for names. */
  async removeStale(): Promise<string[]> {
    const hosts = (await this.hosts.removeStale()).map((p) => `hosts block of ${p}`);
    const dns = await this.resolver.removeStale(markerWriterAlive);
    const wildcards = (await this.wildcards?.removeStale(markerWriterAlive)) ?? [];
    return [...hosts, ...dns, ...wildcards];
  }
}
