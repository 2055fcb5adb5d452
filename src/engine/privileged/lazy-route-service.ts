import type { Cidr } from "../../shared/cidr.js";
import type { AddOutcome, RemoveOutcome, RouteRef, RouteRequest, RouteService } from "../registry/route-service.js";
import type { CleanupReport } from "../registry/stale-cleanup.js";

/** A route changer that can also clean up and be closed: the helper client, or a root in-process one. */
export interface PrivilegedRouteService extends RouteService {
  cleanup(): Promise<CleanupReport>;
  close(): Promise<void>;
  /** True once the helper behind it is gone. */
  readonly closed?: boolean;
}

/**
 * Elevates on first use, not at app start, and only once per session: every
 * caller waiting at that moment shares the one password prompt. A declined
 * prompt is not remembered, so the next Start asks again.
 */
export class LazyRouteService implements PrivilegedRouteService {
  private service: Promise<PrivilegedRouteService> | null = null;
  private opened: PrivilegedRouteService | null = null;
  starts = 0;

  constructor(private readonly open: () => Promise<PrivilegedRouteService>) {}

  private get(): Promise<PrivilegedRouteService> {
    // A helper that died (killed, crashed) is not kept as a dead client: the next use elevates again.
    if (this.opened?.closed) {
      this.service = null;
      this.opened = null;
    }
    if (!this.service) {
      this.starts++;
      const opening = this.open();
      this.service = opening;
      opening.then(
        (service) => {
          if (this.service === opening) this.opened = service;
        },
        () => {
          if (this.service === opening) this.service = null;
        },
      );
    }
    return this.service;
  }

  get started(): boolean {
    return this.service !== null;
  }

  async declare(profile: string, nodeIp: string, cidrs: readonly Cidr[], clusterDomain: string, clusterDnsIp: string): Promise<void> {
    return (await this.get()).declare(profile, nodeIp, cidrs, clusterDomain, clusterDnsIp);
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

  /** Closing the helper's connection makes it remove whatever is still ours (docs/architecture.md, "The privileged helper"), so close only after stopping. */
  async close(): Promise<void> {
    const service = this.service;
    this.service = null;
    this.opened = null;
    if (service) await (await service.catch(() => null))?.close();
  }
}
