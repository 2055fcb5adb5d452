import type { Cidr } from "../../shared/cidr.js";
import type { AddOutcome, RemoveOutcome, RouteRef, RouteRequest, RouteService } from "../root/routes/route-changes.js";
import type { CleanupReport } from "../root/routes/stale-cleanup.js";
import type { LoopbackPrivileges } from "../access/forwards/forward-listeners.js";
import type { ClusterDns } from "../root/names/dns-resolver.js";
import type { HostsEntry } from "../root/names/hosts-block.js";
import type { NamesBackend } from "../root/names/names-writer.js";

/** A route changer that can also clean up and be closed: the helper client, or a root in-process one. */
export interface PrivilegedRouteService extends RouteService, Partial<LoopbackPrivileges>, Partial<NamesBackend> {
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
export class LazyRouteService implements PrivilegedRouteService, LoopbackPrivileges, NamesBackend {
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

  async relay(address: string, port: number, targetPort: number): Promise<void> {
    return (await this.privileges()).relay(address, port, targetPort);
  }

  async unrelay(address: string, port: number): Promise<void> {
    return (await this.privileges()).unrelay(address, port);
  }

  async alias(address: string, present: boolean): Promise<void> {
    return (await this.privileges()).alias(address, present);
  }

  async setHosts(profile: string, domain: string, entries: readonly HostsEntry[] | null): Promise<void> {
    // Taking names back needs no helper that was never started.
    if (entries === null && !this.started) return;
    return (await this.namesBackend()).setHosts(profile, domain, entries);
  }

  async setDns(profile: string, dns: Omit<ClusterDns, "profile"> | null): Promise<string | null> {
    if (dns === null && !this.started) return null;
    return (await this.namesBackend()).setDns(profile, dns);
  }

  async dnsUnavailable(): Promise<string | null> {
    return (await this.namesBackend()).dnsUnavailable();
  }

  private async namesBackend(): Promise<NamesBackend> {
    const service = await this.get();
    if (!service.setHosts || !service.setDns || !service.dnsUnavailable) throw new Error("this privileged service cannot set cluster names");
    return service as NamesBackend;
  }

  private async privileges(): Promise<LoopbackPrivileges> {
    const service = await this.get();
    if (!service.relay || !service.unrelay || !service.alias) throw new Error("this privileged service cannot open loopback ports");
    return service as LoopbackPrivileges;
  }

  /** Closing the helper's connection makes it remove whatever is still ours (docs/architecture.md, "The privileged helper"), so close only after stopping. */
  async close(): Promise<void> {
    const service = this.service;
    this.service = null;
    this.opened = null;
    if (service) await (await service.catch(() => null))?.close();
  }
}
