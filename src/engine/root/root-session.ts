import { type Cidr, containsCidr, normaliseIp, parseCidr } from "../../shared/cidr.js";
import { isTunnelProcessAlive } from "../registry/process-liveness.js";
import type { RegistryFile } from "../registry/registry-file.js";
import type { FileOwner } from "./files/guarded-files.js";
import { type LoopbackAliases, noAliasesNeeded } from "./loopback/loopback-aliases-darwin.js";
import { LoopbackRelays } from "./loopback/loopback-relays-linux.js";
import type { NamesWriter } from "./names/names-writer.js";
import type { Allowances } from "./policy/allowances.js";
import { hostAddressRefusal, hostAddresses } from "./policy/host-addresses.js";
import { readResolverSettings } from "./policy/resolv-conf.js";
import { type MachineNames, checkClusterDomain } from "./policy/name-policy.js";
import { type NamesFacts, judgeHosts, judgeWildcards } from "./policy/names-request.js";
import { PolicyError } from "./policy/policy-error.js";
import { type DeclaredProfile, checkClusterDns, checkForwardAddress } from "./policy/request-policy.js";
import { checkGateway, checkNotBlanket, pathRefusal, publicNetworkRefusal } from "./policy/route-policy.js";
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
} from "./root.js";
import { OwnRoutes } from "./routes/own-routes.js";
import type { RouteTable } from "./routes/route-table.js";
import type { RouteRegistrar } from "./routes/route-transaction.js";
import { cleanupStaleTunnels } from "./routes/stale-cleanup.js";

export interface RootSessionDeps {
  readonly table: RouteTable;
  readonly registry: RegistryFile;
  readonly registrar: RouteRegistrar;
  /** The user root acts for: files it creates are theirs, and the records it keeps are by their uid. */
  readonly user: FileOwner;
  /** Who a relay may hand connections to: the client's user; null when root serves itself. */
  readonly relayTargetOwner: number | null;
  /** What the administrator allowed at install beyond the fixed rules (none by default). */
  readonly allowances: Allowances;
  /**
   * Root's own operator is the client (`sudo mktunnel`), not a helper's user: see RegistrarPolicy
   * (route-transaction.ts).
   */
  readonly operator: boolean;
  /** Root's runtime directory, where records of crashed sessions are found; null: none. */
  readonly runtimeDir: string | null;
  readonly names: NamesWriter | null;
  readonly aliases?: LoopbackAliases;
  readonly log: (line: string) => void;
  readonly platform?: NodeJS.Platform;
  /** After close: what lived only for this session (a root tunnel's registry pid). */
  readonly onClosed?: () => void;
}

/**
 * What one session may make root hold (with the helper's 16 clients, what
 * one user may): a profile's networks are its service range, its nodes' pod
 * ranges and its LoadBalancer pool, a few dozen at most.
 */
const MAX_PROFILES = 32;
const MAX_CIDRS_PER_PROFILE = 64;
const MAX_ROUTES = 256;

/**
 * Root's side of one client (a helper connection) or of this process when
 * it is root: the one place every request meets the policy (docs/security.md,
 * "The root policy"), for routes, loopback ports, aliases and names alike,
 * and the one place that takes all of it back when the client goes.
 */
export class RootSession implements Root {
  /** Every open session of this root process: a name one client sets must not take another's cluster domain. */
  private static readonly open = new Set<RootSession>();
  private readonly declarations = new Map<string, DeclaredProfile>();
  private readonly relays: LoopbackRelays;
  private readonly aliasesAdded = new Set<string>();
  private reclaimed: Pick<CleanupReport, "removed" | "failures"> & { names: string[] } = {
    removed: [],
    failures: [],
    names: [],
  };

  constructor(private readonly deps: RootSessionDeps) {
    this.relays = new LoopbackRelays(deps.relayTargetOwner, deps.log);
    RootSession.open.add(this);
  }

  /**
   * The cluster domains every open session of this process declared (this one's too), those root would route to a
   * cluster's DNS: a domain the policy refuses (`test`, a public one) must not let one client close names to all.
   */
  private clusterDomains(machine: MachineNames): string[] {
    const all = new Set<string>();
    for (const session of RootSession.open) for (const d of session.declarations.values()) all.add(d.clusterDomain);
    return [...all].filter((d) => {
      try {
        return checkClusterDomain(d, this.deps.allowances, machine) === d;
      } catch {
        return false;
      }
    });
  }

  /**
   * A network the fixed rules refuse is declared as refused, not fatal: the
   * profile's other routes still go in, and that one says why. The domain is
   * judged where root would use it (names), so a cluster under a public
   * domain still gets its routes.
   */
  async declare(declaration: ProfileDeclaration): Promise<void> {
    if (!this.declarations.has(declaration.profile) && this.declarations.size >= MAX_PROFILES)
      throw new PolicyError(`this client already declared ${MAX_PROFILES} profiles, the most one session may`);
    if (declaration.cidrs.length > MAX_CIDRS_PER_PROFILE)
      throw new PolicyError(`${declaration.cidrs.length} networks for one profile; at most ${MAX_CIDRS_PER_PROFILE}`);
    if (declaration.nodeIp !== null) checkGateway(declaration.nodeIp);
    if (declaration.nodeIp === null && declaration.cidrs.length > 0)
      throw new PolicyError("networks need the node they are routed through");
    for (const cidr of declaration.cidrs) checkNotBlanket(cidr);
    const families = [...new Set(declaration.cidrs.map((c) => c.family))];
    const host =
      families.length > 0
        ? await hostAddresses((await Promise.all(families.map((f) => this.deps.table.list(f)))).flat())
        : [];
    const own = host.find(
      (a) => declaration.nodeIp !== null && a.kind === "own" && a.address === normaliseIp(declaration.nodeIp),
    );
    if (own) throw new PolicyError(`node IP ${declaration.nodeIp} is ${own.what}, not a cluster node`);
    const cidrs = new Set<string>();
    const refused = new Map<string, string>();
    for (const cidr of declaration.cidrs) {
      const why = publicNetworkRefusal(cidr, this.deps.allowances) ?? hostAddressRefusal(cidr, host);
      if (why) refused.set(cidr.text, why);
      else cidrs.add(cidr.text);
    }
    const all = [...cidrs, ...refused.keys()];
    if (declaration.clusterDnsIp !== "" && !inAny(declaration.clusterDnsIp, all))
      throw new PolicyError(`cluster DNS ${declaration.clusterDnsIp} is not in a declared network`);
    this.declarations.set(declaration.profile, {
      nodeIp: declaration.nodeIp,
      cidrs,
      refused,
      clusterDomain: declaration.clusterDomain,
      clusterDnsIp: declaration.clusterDnsIp,
    });
  }

  async addRoutes(requests: readonly RouteRequest[]): Promise<AddOutcome[]> {
    // Every route is checked before any is added: one undeclared route refuses the whole batch.
    for (const r of requests) {
      const d = this.routable(r.profile, r.gateway);
      if (!d.cidrs.has(r.destination.text) && !d.refused.has(r.destination.text))
        throw new PolicyError(`${r.destination.text} was not declared for profile "${r.profile}"`);
    }
    const allowed = requests.filter((r) => this.declarations.get(r.profile)!.cidrs.has(r.destination.text));
    const held = this.deps.registrar.heldRoutes();
    const fresh = allowed.filter(
      (r) => !held.some((h) => h.profile === r.profile && h.destination.text === r.destination.text),
    );
    if (held.length + fresh.length > MAX_ROUTES)
      throw new PolicyError(
        `this client holds ${held.length} routes; ${fresh.length} more would pass the ${MAX_ROUTES} one session may hold`,
      );
    const added = await this.deps.registrar.addRoutes(
      allowed.map((r) => {
        const d = this.declarations.get(r.profile)!;
        return { ...r, clusterDomain: d.clusterDomain, clusterDnsIp: d.clusterDnsIp };
      }),
    );
    return requests.map((r) => {
      const why = this.declarations.get(r.profile)!.refused.get(r.destination.text);
      return why !== undefined ? { kind: "failed" as const, error: `refused: ${why}` } : added.shift()!;
    });
  }

  async removeRoutes(routes: readonly RouteRef[]): Promise<RemoveOutcome[]> {
    const foreign = routes.filter((r) => !this.deps.registrar.holds(r));
    if (foreign.length > 0)
      throw new PolicyError(
        `${foreign.map((r) => `${r.destination.text} via ${r.gateway}`).join(", ")} is not a route this client added; refusing to remove it`,
      );
    return this.deps.registrar.removeRoutes(routes);
  }

  async cleanup(): Promise<CleanupReport> {
    const { recordedKept: _kept, ...found } = await this.cleanupRoutes(false);
    // What this session took back when it started is part of the first cleanup's answer.
    const same = (a: { destination: string; gateway: string }, b: { destination: string; gateway: string }) =>
      a.destination === b.destination && a.gateway === b.gateway;
    const taken = this.reclaimed.removed.filter((r) => r.routeRemoved);
    const removed = [
      ...taken.filter((r) => !found.removed.some((f) => same(f, r))),
      ...found.removed.map((f) => (taken.some((r) => same(f, r)) ? { ...f, routeRemoved: true } : f)),
    ];
    const report = { ...found, removed, failures: [...this.reclaimed.failures, ...found.failures] };
    // Names too: root in this process takes back a killed tunnel's names as it starts, before `cleanup` asks.
    let names: string[] = this.reclaimed.names;
    this.reclaimed = { removed: [], failures: [], names: [] };
    const nameFailures: string[] = [];
    try {
      names = [...names, ...((await this.deps.names?.removeStale()) ?? [])];
    } catch (error) {
      nameFailures.push((error as Error).message);
    }
    for (const r of report.refused ?? [])
      this.deps.log(`cleanup refused ${r.destination} via ${r.gateway} (${r.profile}, pid ${r.pid}): ${r.error}`);
    return { ...report, names, ...(nameFailures.length > 0 ? { nameFailures } : {}) };
  }
  /**
   * What crashed root sessions of this user left (their records, in root's
   * runtime directory) is taken back when a session starts: a crash of root
   * costs nothing once root is back. Routes a live tunnel still holds stay,
   * with their records, for that client to come back to.
   */
  async reclaimOrphans(): Promise<void> {
    const report = await this.cleanupRoutes(true);
    this.reclaimed = { removed: report.removed, failures: report.failures, names: [] };
    for (const r of report.removed)
      if (r.routeRemoved) this.deps.log(`took back ${r.destination} via ${r.gateway}, left by a crashed session`);
    for (const f of report.failures) this.deps.log(`could not take back ${f.destination} via ${f.gateway}: ${f.error}`);
    const names = await this.deps.names?.removeStale().catch((error: Error) => {
      this.deps.log(`could not take back names a crashed session left: ${error.message}`);
      return [];
    });
    if (names && names.length > 0) {
      this.reclaimed.names = names;
      this.deps.log(`took back names a crashed session left for ${names.join(", ")}`);
    }
  }

  private async cleanupRoutes(recordedOnly: boolean) {
    const orphans = this.deps.runtimeDir
      ? await OwnRoutes.orphans(this.deps.runtimeDir, this.deps.user.uid, (pid, started) =>
          isTunnelProcessAlive(pid, started || undefined),
        )
      : [];
    const report = await cleanupStaleTunnels(this.deps.table, this.deps.registry, {
      allowances: this.deps.allowances,
      operator: this.deps.operator,
      recorded: orphans.flatMap((o) => o.routes),
      recordedOnly,
    });
    const left = new Set([
      ...report.failures.map((f) => `${f.destination} ${f.gateway}`),
      ...report.recordedKept.map((r) => `${r.destination.text} ${r.gateway}`),
    ]);
    for (const orphan of orphans)
      if (!orphan.routes.some((r) => left.has(`${r.destination.text} ${r.gateway}`))) await orphan.forget();
    return report;
  }

  async relay(address: string, port: number, targetPort: number): Promise<void> {
    checkForwardAddress(address);
    // Only Linux keeps ports below 1024 for root; elsewhere the client binds them itself.
    if ((this.deps.platform ?? process.platform) !== "linux") throw new PolicyError("relays are only needed on Linux");
    await this.relays.open(address, port, targetPort);
  }

  async unrelay(address: string, port: number): Promise<void> {
    await this.relays.close(address, port);
  }

  async alias(address: string, present: boolean): Promise<void> {
    checkForwardAddress(address);
    const aliases = this.deps.aliases ?? noAliasesNeeded;
    if (present) {
      await aliases.add(address);
      this.aliasesAdded.add(address);
      return;
    }
    if (!this.aliasesAdded.delete(address))
      throw new PolicyError(`${address} is not an alias this client added; refusing to remove it`);
    await aliases.remove(address);
  }

  async setHosts(profile: string, entries: readonly HostsEntry[] | null): Promise<HostsResult> {
    const names = this.namesOrRefuse();
    if (entries === null) {
      await names.setHosts(profile, null);
      return { written: 0, dropped: [] };
    }
    const { kept, dropped } = await judgeHosts(entries, await this.namesFacts(profile));
    await names.setHosts(profile, kept.length > 0 ? kept : null);
    return { written: kept.length, dropped };
  }

  private async namesFacts(profile: string): Promise<NamesFacts> {
    const declaration = this.declared(profile);
    const machine = await readResolverSettings();
    return {
      declaration,
      allowances: this.deps.allowances,
      machine,
      clusterDomains: this.clusterDomains(machine),
      kernel: () => this.deps.table.list(declaration.nodeIp?.includes(":") ? 6 : 4),
    };
  }

  async setDns(profile: string, dns: ClusterDns | null): Promise<string | null> {
    const names = this.namesOrRefuse();
    if (dns) {
      const declaration = this.declared(profile);
      checkClusterDns(dns, declaration);
      // The resolver setting goes on the link toward the node: only a link an add of a route through it would pass.
      const family = dns.gateway.includes(":") ? 6 : 4;
      const path = await pathRefusal(dns.gateway, await this.deps.table.list(family), {
        allowances: this.deps.allowances,
      });
      if (path) throw new PolicyError(path);
      // The OS resolver would send a public domain's lookups, for every user, to the cluster's server.
      checkClusterDomain(declaration.clusterDomain, this.deps.allowances, await readResolverSettings());
    }
    return names.setDns(profile, dns);
  }

  dnsUnavailable(): Promise<string | null> {
    return this.namesOrRefuse().dnsUnavailable();
  }

  /**
   * The profile's wildcards on root's DNS responder (docs/security.md, "The root policy"): each pattern judged as its
   * domain would be as an exact Ingress host, never a whole top-level domain, at an address an exact host could have.
   * A refused pattern is dropped with why; the rest are answered. Taken back by `close` (the names writer's clearAll).
   */
  async setWildcards(profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    const names = this.namesOrRefuse();
    if (entries === null) return names.setWildcards(profile, null);
    const { kept, dropped } = await judgeWildcards(entries, await this.namesFacts(profile));
    const result = await names.setWildcards(profile, kept.length > 0 ? kept : null);
    return { ...(result.how ? { how: result.how } : {}), dropped: [...dropped, ...result.dropped] };
  }

  /** Takes back everything this client set: routes and entries, relays, aliases, names. */
  async close(): Promise<void> {
    try {
      await this.takeBack();
    } finally {
      RootSession.open.delete(this);
      this.deps.onClosed?.();
    }
  }

  private async takeBack(): Promise<void> {
    const log = this.deps.log;
    try {
      const routes = this.deps.registrar.heldRoutes();
      const outcomes = await this.deps.registrar.removeRoutes(routes, { takeBack: true });
      routes.forEach((route, i) => {
        const outcome = outcomes[i];
        const what = `${route.destination.text} via ${route.gateway} (${route.profile})`;
        log(outcome?.kind === "failed" ? `could not remove ${what}: ${outcome.error}` : `removed ${what}`);
      });
    } catch (error) {
      log(`could not remove this client's routes: ${(error as Error).message}`);
    }
    const relays = await this.relays.closeAll();
    if (relays > 0) log(`closed ${relays} forwarded port(s)`);
    for (const address of this.aliasesAdded) {
      await (this.deps.aliases ?? noAliasesNeeded).remove(address).then(
        () => log(`removed the loopback alias ${address}`),
        (error: Error) => log(`could not remove the loopback alias ${address}: ${error.message}`),
      );
    }
    this.aliasesAdded.clear();
    for (const failure of (await this.deps.names?.clearAll().catch((e: Error) => [`names: ${e.message}`])) ?? [])
      log(`could not take back ${failure}`);
  }

  private declared(profile: string): DeclaredProfile {
    const declaration = this.declarations.get(profile);
    if (!declaration) throw new PolicyError(`profile "${profile}" was not declared`);
    return declaration;
  }

  private routable(profile: string, gateway: string): DeclaredProfile {
    const declaration = this.declared(profile);
    if (gateway !== declaration.nodeIp)
      throw new PolicyError(
        `gateway ${gateway} is not the node IP ${declaration.nodeIp ?? "(none)"} of profile "${profile}"`,
      );
    return declaration;
  }

  private namesOrRefuse(): NamesWriter {
    if (!this.deps.names) throw new PolicyError("this root does not manage cluster names");
    return this.deps.names;
  }
}

function inAny(ip: string, cidrs: readonly string[]): boolean {
  const host: Cidr = parseCidr(ip);
  return cidrs.some((c) => containsCidr(parseCidr(c), host));
}
