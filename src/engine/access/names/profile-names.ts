import type { NamesStatus, ServiceName } from "../cluster-access.js";
import type { ForwardSpec } from "../forwards/forward-listeners.js";
import type { HostsEntry, HostsResult, RootNames } from "../../root/index.js";

/** Names a Service answers to on the host: the cluster's full name, and the short `svc.ns` kube-dns also answers. */
export function serviceNames(name: string, namespace: string, domain: string): string[] {
  return [`${name}.${namespace}.svc.${domain}`, `${name}.${namespace}`];
}

/**
 * One profile's cluster names on this machine (docs/architecture.md,
 * "Names"). Forward mode: a hosts block mapping each forwarded Service's
 * names to its loopback address. Route mode: the OS resolver sends the
 * cluster's domain to the cluster's DNS; where that cannot be done (Linux
 * without systemd-resolved) a hosts block with the ClusterIPs instead, said so.
 * Updates are serialised and coalesced; `changed` is called when the status does.
 */
export class ProfileNames {
  private current: NamesStatus;
  private queue: Promise<void> = Promise.resolve();
  private pending: (() => Promise<void>) | null = null;
  private stopped = false;

  constructor(
    private readonly profile: string,
    readonly domain: string,
    private readonly backend: RootNames | null,
    private readonly log: (line: string) => void,
    private readonly changed: () => void,
  ) {
    this.current = backend ? { state: "pending", domain } : { state: "off", domain };
  }

  status(): NamesStatus {
    return this.current;
  }

  /** Forward mode: every forwarded Service under its names, at its own loopback address. */
  forwarded(specs: readonly ForwardSpec[]): Promise<void> {
    const byAddress = new Map<string, HostsEntry>();
    for (const spec of specs)
      if (spec.protocol === "TCP" || !byAddress.has(spec.address))
        byAddress.set(spec.address, { ip: spec.address, names: serviceNames(spec.name, spec.namespace, this.domain) });
    const entries = [...byAddress.values()].sort((a, b) => a.names[0]!.localeCompare(b.names[0]!));
    return this.schedule(async () => {
      // Root writes names only under a declared domain; forward mode declares no routes, so it declares the domain
      // alone (again each time: a helper that came back knows nothing).
      await this.backend!.declare({
        profile: this.profile,
        nodeIp: null,
        cidrs: [],
        clusterDomain: this.domain,
        clusterDnsIp: "",
      });
      const result = await this.backend!.setHosts(this.profile, entries.length > 0 ? entries : null);
      this.set({
        state: "on",
        domain: this.domain,
        how: "hosts file",
        ...firstName(entries, result),
        ...unmapped(result),
      });
    });
  }

  /**
   * Route mode: the cluster's DNS server for the domain, through the link to
   * the node. `services` gives the ClusterIPs for the hosts-file way when the
   * resolver cannot be used.
   */
  routed(
    dns: { server: string; gateway: string },
    services: () => readonly ServiceName[],
    example: string,
  ): Promise<void> {
    return this.schedule(async () => {
      const why = await this.backend!.dnsUnavailable();
      if (why === null) {
        const how = await this.backend!.setDns(this.profile, { domain: this.domain, ...dns });
        this.set({ state: "on", domain: this.domain, how: how ?? "resolver", example });
        return;
      }
      const entries = services()
        .flatMap((s) =>
          s.clusterIPs[0] ? [{ ip: s.clusterIPs[0], names: serviceNames(s.name, s.namespace, this.domain) }] : [],
        )
        .sort((a, b) => a.names[0]!.localeCompare(b.names[0]!));
      const result = await this.backend!.setHosts(this.profile, entries.length > 0 ? entries : null);
      this.set({
        state: "on",
        domain: this.domain,
        how: `hosts file, with ClusterIPs (${why})`,
        ...(firstName(entries, result).example ? firstName(entries, result) : { example }),
        ...unmapped(result),
      });
    });
  }

  /** Takes back everything of this profile; the status says off. */
  async clear(): Promise<void> {
    this.stopped = true;
    this.pending = null;
    await this.queue;
    if (!this.backend) return;
    const failures: string[] = [];
    await this.backend.setHosts(this.profile, null).catch((e: Error) => failures.push(e.message));
    await this.backend.setDns(this.profile, null).catch((e: Error) => failures.push(e.message));
    this.current = { state: "off", domain: this.domain };
    if (failures.length > 0)
      throw new Error(`could not take back the names of "${this.profile}": ${failures.join("; ")}`);
  }

  private schedule(work: () => Promise<void>): Promise<void> {
    if (!this.backend || this.stopped) return Promise.resolve();
    const queued = this.pending !== null;
    this.pending = work;
    if (queued) return this.queue;
    this.queue = this.queue.then(async () => {
      const next = this.pending;
      this.pending = null;
      if (!next || this.stopped) return;
      try {
        await next();
      } catch (error) {
        const message = (error as Error).message;
        if (this.current.error !== message) this.log(`cluster names not set: ${message}`);
        this.set({ state: "error", domain: this.domain, error: message });
      }
    });
    return this.queue;
  }

  private set(status: NamesStatus): void {
    const before = JSON.stringify(this.current);
    this.current = status;
    if (JSON.stringify(status) === before) return;
    if (status.state === "on")
      this.log(
        `cluster names on: *.svc.${this.domain} via ${status.how}${status.example ? ` (for example ${status.example})` : ""}`,
      );
    this.changed();
  }
}

/** The first name root wrote, for the status line. */
function firstName(entries: readonly HostsEntry[], result: HostsResult): { example?: string } {
  const dropped = new Set(result.dropped.map((d) => d.name));
  const first = entries.flatMap((e) => e.names).find((n) => !dropped.has(n));
  return first ? { example: first } : {};
}

function unmapped(result: HostsResult): { unmapped?: HostsResult["dropped"] } {
  return result.dropped.length > 0 ? { unmapped: result.dropped } : {};
}
