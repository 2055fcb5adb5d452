import { parseCidr } from "../shared/cidr.js";
import type { HelperRequest } from "../shared/helper-protocol.js";
import { type LoopbackAliases, noAliasesNeeded } from "../engine/root/loopback/loopback-aliases.js";
import { LoopbackRelays } from "../engine/root/loopback/loopback-relays.js";
import type { InProcessNames } from "../engine/root/names/names-writer.js";
import type { RouteTable } from "../engine/root/routes/route-table.js";
import type { RegistryFile } from "../engine/registry/registry-file.js";
import type { RouteRegistrar } from "../engine/root/routes/route-transaction.js";
import { cleanupStaleTunnels } from "../engine/root/routes/stale-cleanup.js";
import { type Declaration, PolicyError, checkClusterDns, checkDeclaredCidr, checkForwardAddress, checkGateway, checkHostsEntry } from "../engine/root/policy/request-policy.js";

export interface SessionDeps {
  readonly registrar: RouteRegistrar;
  readonly table: RouteTable;
  readonly registry: RegistryFile;
  readonly log: (line: string) => void;
  readonly aliases?: LoopbackAliases;
  readonly names?: InProcessNames | null;
}

/**
 * What one client connection holds in the helper: its declarations, the
 * routes, relays, aliases and names it set. When the connection closes, all
 * of it is taken back, and nothing of another connection's.
 */
export class HelperSession {
  private readonly declarations = new Map<string, Declaration>();
  private readonly relays = new LoopbackRelays();
  private readonly aliases = new Set<string>();

  constructor(private readonly deps: SessionDeps) {}

  async perform(request: Exclude<HelperRequest, { op: "ping" } | { op: "hello" }>): Promise<unknown> {
    switch (request.op) {
      case "declare": {
        checkGateway(request.nodeIp);
        const cidrs = new Set(request.cidrs.map((c) => checkDeclaredCidr(c).text));
        this.declarations.set(request.profile, { nodeIp: request.nodeIp, cidrs, clusterDomain: request.clusterDomain, clusterDnsIp: request.clusterDnsIp });
        return "declared";
      }
      case "add": {
        // Every CIDR is checked before any is added: one bad CIDR refuses the whole batch.
        const declaration = this.allowedAll(request.profile, request.cidrs, request.gateway);
        return this.deps.registrar.addRoutes(request.cidrs.map((cidr) => ({ destination: parseCidr(cidr), gateway: request.gateway, profile: request.profile, clusterDomain: declaration.clusterDomain, clusterDnsIp: declaration.clusterDnsIp })));
      }
      case "remove": {
        // Only a route this client's registrar added is ever removed.
        const refs = request.cidrs.map((cidr) => ({ destination: parseCidr(cidr), gateway: request.gateway, profile: request.profile }));
        if (!refs.every((r) => this.deps.registrar.holds(r))) throw new PolicyError(`${request.cidrs.join(", ")} via ${request.gateway} is not a route this client added; refusing to remove it`);
        return this.deps.registrar.removeRoutes(refs);
      }
      case "cleanup": {
        const report = await cleanupStaleTunnels(this.deps.table, this.deps.registry);
        const names = (await this.deps.names?.removeStale().catch((error: Error) => [`names: ${error.message}`])) ?? [];
        return { ...report, names };
      }
      case "relay":
        checkForwardAddress(request.address);
        await this.relays.open(request.address, request.port, request.targetPort);
        return "listening";
      case "unrelay":
        return (await this.relays.close(request.address, request.port)) ? "closed" : "not open";
      case "alias": {
        checkForwardAddress(request.address);
        const aliases = this.deps.aliases ?? noAliasesNeeded;
        if (request.present) {
          await aliases.add(request.address);
          this.aliases.add(request.address);
          return "added";
        }
        if (!this.aliases.delete(request.address)) throw new PolicyError(`${request.address} is not an alias this client added; refusing to remove it`);
        await aliases.remove(request.address);
        return "removed";
      }
      case "names-hosts": {
        const names = this.namesOrRefuse();
        for (const entry of request.entries ?? []) checkHostsEntry(entry.ip, entry.names, request.domain, this.declarations.get(request.profile));
        await names.setHosts(request.profile, request.domain, request.entries);
        return request.entries === null ? "removed" : `${request.entries.length} entries`;
      }
      case "names-dns": {
        const names = this.namesOrRefuse();
        if (request.dns) checkClusterDns(request.dns, this.declarations.get(request.profile));
        return (await names.setDns(request.profile, request.dns)) ?? "removed";
      }
      case "names-dns-check":
        return (await this.namesOrRefuse().dnsUnavailable()) ?? "available";
    }
  }

  /** Takes back everything this client set: routes and entries, relays, aliases, names. */
  async close(): Promise<void> {
    const log = this.deps.log;
    try {
      const routes = this.deps.registrar.heldRoutes();
      const outcomes = await this.deps.registrar.removeRoutes(routes);
      routes.forEach((route, i) => {
        const outcome = outcomes[i];
        const what = `${route.destination.text} via ${route.gateway} (${route.profile})`;
        log(outcome?.kind === "failed" ? `could not remove ${what}: ${outcome.error}` : `removed ${what}${outcome?.kind === "left-to-live-owner" ? " from the registry; another live tunnel keeps the route" : ""}`);
      });
    } catch (error) {
      log(`could not remove this client's routes: ${(error as Error).message}`);
    }
    const relays = await this.relays.closeAll();
    if (relays > 0) log(`closed ${relays} forwarded port(s)`);
    for (const address of this.aliases) {
      await (this.deps.aliases ?? noAliasesNeeded).remove(address).then(
        () => log(`removed the loopback alias ${address}`),
        (error: Error) => log(`could not remove the loopback alias ${address}: ${error.message}`),
      );
    }
    this.aliases.clear();
    for (const failure of (await this.deps.names?.clearAll()) ?? []) log(`could not take back ${failure}`);
  }

  private namesOrRefuse(): InProcessNames {
    if (!this.deps.names) throw new PolicyError("this helper does not manage cluster names");
    return this.deps.names;
  }

  private allowedAll(profile: string, cidrs: readonly string[], gateway: string): Declaration {
    const declaration = this.declarations.get(profile);
    if (!declaration) throw new PolicyError(`profile "${profile}" was not declared`);
    if (gateway !== declaration.nodeIp) throw new PolicyError(`gateway ${gateway} is not the node IP ${declaration.nodeIp} of profile "${profile}"`);
    for (const text of cidrs) {
      const cidr = parseCidr(text).text;
      if (!declaration.cidrs.has(cidr)) throw new PolicyError(`${cidr} was not declared for profile "${profile}"`);
    }
    return declaration;
  }
}
