import type {
  AddOutcome,
  CleanupReport,
  ClusterDns,
  HostsEntry,
  HostsResult,
  ProfileDeclaration,
  RemoveOutcome,
  Root,
  RouteRef,
  RouteRequest,
  WildcardEntry,
  WildcardsResult,
} from "../root/index.js";

/**
 * Root, reached at first use rather than at app start, and once per session:
 * every caller waiting at that moment shares the one password prompt. A
 * declined prompt is not remembered, so the next Start asks again; a helper
 * that died is reached anew.
 */
export class LazyRoot implements Root {
  private root: Promise<Root> | null = null;
  private opened: Root | null = null;
  starts = 0;

  constructor(private readonly open: () => Promise<Root>) {}

  private get(): Promise<Root> {
    // A helper that died (killed, crashed) is not kept as a dead client: the next use elevates again.
    if (this.opened?.closed) {
      this.root = null;
      this.opened = null;
    }
    if (!this.root) {
      this.starts++;
      const opening = this.open();
      this.root = opening;
      opening.then(
        (root) => {
          if (this.root === opening) this.opened = root;
        },
        () => {
          if (this.root === opening) this.root = null;
        },
      );
    }
    return this.root;
  }

  get started(): boolean {
    return this.root !== null;
  }

  async declare(declaration: ProfileDeclaration): Promise<void> {
    return (await this.get()).declare(declaration);
  }

  async addRoutes(requests: readonly RouteRequest[]): Promise<AddOutcome[]> {
    return (await this.get()).addRoutes(requests);
  }

  async removeRoutes(routes: readonly RouteRef[]): Promise<RemoveOutcome[]> {
    return (await this.get()).removeRoutes(routes);
  }

  async cleanup(): Promise<CleanupReport> {
    return (await this.get()).cleanup();
  }

  async relay(address: string, port: number, targetPort: number): Promise<void> {
    return (await this.get()).relay(address, port, targetPort);
  }

  async unrelay(address: string, port: number): Promise<void> {
    return (await this.get()).unrelay(address, port);
  }

  async alias(address: string, present: boolean): Promise<void> {
    return (await this.get()).alias(address, present);
  }

  async setHosts(profile: string, entries: readonly HostsEntry[] | null): Promise<HostsResult> {
    // Taking names back needs no helper that was never started.
    if (entries === null && !this.started) return { written: 0, dropped: [] };
    return (await this.get()).setHosts(profile, entries);
  }

  async setDns(profile: string, dns: ClusterDns | null): Promise<string | null> {
    if (dns === null && !this.started) return null;
    return (await this.get()).setDns(profile, dns);
  }

  async dnsUnavailable(): Promise<string | null> {
    return (await this.get()).dnsUnavailable();
  }

  async setWildcards(profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    if (entries === null && !this.started) return { dropped: [] };
    const root = await this.get();
    if (!root.setWildcards)
      return {
        dropped: (entries ?? []).map((e) => ({ name: e.pattern, reason: "wildcard (needs the DNS responder)" })),
      };
    return root.setWildcards(profile, entries);
  }

  /**
   * Closing the helper's connection makes it take back whatever is still ours (docs/architecture.md, "The privileged
   * helper"), so close only after stopping.
   */
  async close(): Promise<void> {
    const root = this.root;
    this.root = null;
    this.opened = null;
    if (root) await (await root.catch(() => null))?.close();
  }
}
