import type { ClusterAccess } from "../access/cluster-access.js";
import { IngressDiscovery, type IngressDiscoveryOptions } from "../ingress/ingress-discovery.js";
import type { IngressNamesChange } from "../ingress/name-types.js";
import type { KubeApi } from "../kube/kube-http.js";

/**
 * One profile's Ingress and Gateway names, followed for its access (docs/architecture.md, "Ingress and Gateway
 * names"): an IngressDiscovery on the LoadBalancer controller's connection, whose every change goes to the access,
 * which makes the names resolve and answer in its mode. Started and stopped with the controller, so it waits, as the
 * controller does, while another tunnel holds the profile.
 */
export class IngressFollower {
  private readonly discovery: IngressDiscovery;
  private stopped = false;

  constructor(
    api: KubeApi,
    private readonly access: ClusterAccess,
    private readonly log: (line: string) => void,
    options: IngressDiscoveryOptions = {},
  ) {
    this.discovery = new IngressDiscovery(api, options);
    this.discovery.on("log", (line: string) => this.log(`ingress: ${line}`));
    this.discovery.on("changed", (change: IngressNamesChange) => {
      if (!this.stopped) this.access.ingressChanged(change.names);
    });
  }

  /**
   * Resolves once the first lists are in (or after `syncTimeoutMs`, the watches going on): the access then has the
   * names, even none, so the snapshot shows the profile's Ingresses and Gateways from the start.
   */
  async start(syncTimeoutMs = 10_000, signal?: AbortSignal): Promise<void> {
    await this.discovery.start(syncTimeoutMs, signal);
    if (!this.stopped && !signal?.aborted) this.access.ingressChanged(this.discovery.names());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.discovery.stop();
  }

  stats(): ReturnType<IngressDiscovery["stats"]> {
    return this.discovery.stats();
  }
}
