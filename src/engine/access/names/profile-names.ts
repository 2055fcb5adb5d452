import type { NamesStatus, ServiceName } from "../cluster-access.js";
import type { ForwardSpec } from "../forwards/forward-listeners.js";
import type { HostsEntry, HostsResult, RootNames, WildcardEntry } from "../../root/index.js";
import type { IngressRequest, NameOutcome } from "./ingress-names.js";

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
  /**
   * What writes the mode's block again, with the Ingress and Gateway names as they are then (they share its block):
   * set by the mode's last write, so an Ingress change never repeats the resolver setting.
   */
  private rewrite: (() => Promise<void>) | null = null;
  private wildcardsWritten = false;
  /** What root said its DNS responder does for the wildcards (`setWildcards`'s `how`), shown in the status's `how`. */
  private wildcardsHow: string | null = null;
  /** The mode's own status, before the wildcards' part is added to its `how`. */
  private base: NamesStatus | null = null;
  private ingress: IngressRequest = { hosts: [], wildcards: [] };
  /** Ingress names root wrote, and those it refused (or would not answer) with why. */
  private ingressWritten = new Set<string>();
  private ingressRefused = new Map<string, string>();
  /** Whether a hosts block of ours may be there: route mode with a resolver writes one only for Ingress names. */
  private hostsWritten = false;

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
    const work = async () => {
      this.rewrite = work;
      // Root writes names only under a declared domain; forward mode declares no routes, so it declares the domain
      // alone (again each time: a helper that came back knows nothing).
      await this.backend!.declare({
        profile: this.profile,
        nodeIp: null,
        cidrs: [],
        clusterDomain: this.domain,
        clusterDnsIp: "",
      });
      const result = await this.writeHosts(entries);
      this.set({
        state: "on",
        domain: this.domain,
        how: "hosts file",
        ...firstName(entries, result),
        ...unmapped(result),
      });
    };
    return this.schedule(work);
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
      // Until this write knows its entries, an Ingress change must not replay the last write's (it would write the
      // Services as they were after this one): this write reads the Ingress names itself when it gets there.
      this.rewrite = null;
      const why = await this.backend!.dnsUnavailable();
      if (why === null) {
        const how = await this.backend!.setDns(this.profile, { domain: this.domain, ...dns });
        // The cluster's DNS does not know Ingress hosts: they go in the hosts block all the same.
        this.rewrite = async () => void (await this.writeHosts([]));
        await this.writeHosts([]);
        this.set({ state: "on", domain: this.domain, how: how ?? "resolver", example });
        return;
      }
      const entries = services()
        .flatMap((s) =>
          s.clusterIPs[0] ? [{ ip: s.clusterIPs[0], names: serviceNames(s.name, s.namespace, this.domain) }] : [],
        )
        .sort((a, b) => a.names[0]!.localeCompare(b.names[0]!));
      this.rewrite = async () => void (await this.writeHosts(entries));
      const result = await this.writeHosts(entries);
      this.set({
        state: "on",
        domain: this.domain,
        how: `hosts file, with ClusterIPs (${why})`,
        ...(firstName(entries, result).example ? firstName(entries, result) : { example }),
        ...unmapped(result),
      });
    });
  }

  /**
   * The profile's Ingress and Gateway names, placed by the mode: they join the mode's hosts block (written again at
   * once if the mode wrote one already, else with its first write), and wildcards go to root's DNS responder.
   */
  setIngress(request: IngressRequest): Promise<void> {
    this.ingress = request;
    // A write of the mode's already waiting reads them when it runs; it must not be replaced by this one.
    if (this.pending !== null || !this.rewrite) return this.queue;
    return this.schedule(this.rewrite);
  }

  /** Whether an Ingress or Gateway name is on this machine, or why not. */
  ingressOutcome(host: string, wildcard: boolean): NameOutcome {
    if (!this.backend) return { mapped: false, reason: "cluster names are off (--no-dns, or the preference)" };
    const refused = this.ingressRefused.get(host);
    if (refused !== undefined) return { mapped: false, reason: refused };
    if (this.ingressWritten.has(host)) return { mapped: true };
    if (wildcard && !this.backend.setWildcards) return { mapped: false, reason: "wildcard (needs the DNS responder)" };
    if (this.current.state === "error") return { mapped: false, reason: this.current.error ?? "names failed" };
    return { mapped: false, reason: "not written yet" };
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
    await this.backend.setWildcards?.(this.profile, null).catch((e: Error) => failures.push(e.message));
    this.ingressWritten.clear();
    this.wildcardsHow = null;
    this.base = null;
    this.current = { state: "off", domain: this.domain };
    if (failures.length > 0)
      throw new Error(`could not take back the names of "${this.profile}": ${failures.join("; ")}`);
  }

  /**
   * The mode's entries and the Ingress names in one block, then the wildcards; returns root's answer with the
   * Ingress names' refusals taken out (they are shown per name, not in the Services' `unmapped`).
   */
  private async writeHosts(entries: readonly HostsEntry[]): Promise<HostsResult> {
    // The Ingress names as they are now: a change that comes while root writes is the next write's, never this one's.
    const ingress = this.ingress;
    const all = [...entries, ...ingress.hosts];
    const wildcards = ingress.wildcards;
    let result: HostsResult = { written: 0, dropped: [] };
    if (all.length > 0 || this.hostsWritten) {
      result = await this.backend!.setHosts(this.profile, all.length > 0 ? all : null);
      this.hostsWritten = all.length > 0;
    }
    const ingressNames = new Set(ingress.hosts.flatMap((e) => e.names));
    const refused = new Map(result.dropped.filter((d) => ingressNames.has(d.name)).map((d) => [d.name, d.reason]));
    const written = new Set([...ingressNames].filter((n) => !refused.has(n)));
    await this.writeWildcards(wildcards, refused, written);
    const before = JSON.stringify([[...this.ingressWritten], [...this.ingressRefused]]);
    this.ingressWritten = written;
    this.ingressRefused = refused;
    // Ingress names do not change the status line; the snapshot shows them, so the access must hear of it.
    if (JSON.stringify([[...written], [...refused]]) !== before) this.changed();
    return { written: result.written, dropped: result.dropped.filter((d) => !ingressNames.has(d.name)) };
  }

  private async writeWildcards(
    wildcards: readonly WildcardEntry[],
    refused: Map<string, string>,
    written: Set<string>,
  ): Promise<void> {
    if (!this.backend!.setWildcards || (wildcards.length === 0 && !this.wildcardsWritten)) return;
    const result = await this.backend!.setWildcards(this.profile, wildcards.length > 0 ? wildcards : null);
    this.wildcardsWritten = wildcards.length > 0;
    const how = result.how ?? null;
    if (how !== this.wildcardsHow) {
      this.wildcardsHow = how;
      // An Ingress change writes no status of the mode's own: the status line learns of the responder here.
      if (this.base?.state === "on") this.set(this.base);
    }
    for (const d of result.dropped) refused.set(d.name, d.reason);
    for (const w of wildcards) if (!refused.has(w.pattern)) written.add(w.pattern);
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

  private set(mode: NamesStatus): void {
    this.base = mode;
    const status =
      mode.state === "on" && this.wildcardsHow
        ? { ...mode, how: `${mode.how}; wildcards: ${this.wildcardsHow}` }
        : mode;
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
