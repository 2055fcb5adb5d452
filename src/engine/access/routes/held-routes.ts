import { parseCidr } from "../../../shared/cidr.js";
import type { ClusterView } from "../../cluster/cluster-inspector.js";
import type { RootRoutes, RouteTable } from "../../root/index.js";
import type { RouteStatus } from "../cluster-access.js";

export interface HeldRoutesDeps {
  readonly profile: string;
  /** Whoever changes routes: the helper, or this process as root. */
  readonly root: RootRoutes;
  /** Read only: to notice our routes vanishing from the kernel. Listing needs no privileges. */
  readonly table: Pick<RouteTable, "list">;
  readonly log: (line: string) => void;
}

/**
 * The routes one route-mode tunnel holds and what each one's state is (active, pending, conflict, error): added
 * through root in one batch, taken back through root, and checked against the kernel so a flushed one comes back.
 * RouteAccess decides when (the node's state); this decides which routes and keeps their states.
 */
export class HeldRoutes {
  private readonly routes = new Map<string, RouteStatus>();
  private activeGateway: string | null = null;
  /** Something worth telling about how the routes work here, such as a full-tunnel VPN they go around. */
  note: string | undefined;

  constructor(private readonly deps: HeldRoutesDeps) {}

  get size(): number {
    return this.routes.size;
  }

  /** The node the routes go through; null before the first batch and after they were all removed. */
  get gateway(): string | null {
    return this.activeGateway;
  }

  get(cidr: string): RouteStatus | undefined {
    return this.routes.get(cidr);
  }

  list(): RouteStatus[] {
    return [...this.routes.values()];
  }

  /**
   * Adds every wanted route that is not active yet, in one batch. With
   * `verifyTable`, routes we believe active are checked against the kernel
   * first, so a route someone flushed comes back.
   */
  async apply(view: ClusterView, gateway: string, verifyTable: boolean): Promise<void> {
    const wanted = new Set(view.cidrs.map((c) => c.cidr.text));
    const unwanted = [...this.routes.values()].filter((r) => !wanted.has(r.cidr));
    await this.remove(
      unwanted.filter((r) => r.state === "active"),
      "no longer part of the cluster",
    );
    for (const r of unwanted) this.routes.delete(r.cidr);
    this.activeGateway = gateway;
    if (verifyTable) await this.forgetVanished();
    const missing = view.cidrs.filter(({ cidr }) => this.routes.get(cidr.text)?.state !== "active");
    if (missing.length === 0) return;
    // Not reaching root (a declined password, no helper) or a refused declaration fails the start, said plainly.
    await this.deps.root.declare({
      profile: this.deps.profile,
      nodeIp: gateway,
      cidrs: view.cidrs.map((c) => c.cidr),
      clusterDomain: view.config.dnsDomain,
      clusterDnsIp: view.clusterDnsIp,
    });
    let outcomes;
    try {
      outcomes = await this.deps.root.addRoutes(
        missing.map(({ cidr }) => ({ destination: cidr, gateway, profile: this.deps.profile })),
      );
    } catch (error) {
      const message = (error as Error).message;
      this.deps.log(`adding routes via ${gateway} failed: ${message}`);
      for (const { cidr, kind } of missing)
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "error", error: message });
      return;
    }
    missing.forEach(({ cidr, kind }, i) => {
      const outcome = outcomes[i]!;
      const before = this.routes.get(cidr.text);
      if (outcome.kind === "conflict") {
        if (before?.state !== "conflict")
          this.deps.log(`conflict: ${outcome.conflict.message}; not adding ${cidr.text}`);
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "conflict", conflict: outcome.conflict });
      } else if (outcome.kind === "failed") {
        this.deps.log(`route ${cidr.text} via ${gateway} failed: ${outcome.error}`);
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "error", error: outcome.error });
      } else {
        this.deps.log(
          `route ${cidr.text} via ${gateway} ${outcome.kind === "added" ? "added" : outcome.kind === "adopted" ? "adopted from a dead tunnel" : "already active"}`,
        );
        if (outcome.note && outcome.note !== this.note) this.deps.log(`note: ${outcome.note}`);
        if (outcome.note) this.note = outcome.note;
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "active" });
      }
    });
  }

  /** Removes every active route and forgets them all; resolves to what could not be removed, one line per route. */
  async removeAll(why: string): Promise<string[]> {
    const failures = await this.remove(
      [...this.routes.values()].filter((r) => r.state === "active"),
      why,
    );
    this.routes.clear();
    this.activeGateway = null;
    return failures;
  }

  /**
   * Routes we hold that are no longer in the kernel (someone flushed them) go back to pending, so they are added again.
   */
  private async forgetVanished(): Promise<void> {
    const active = [...this.routes.values()].filter((r) => r.state === "active");
    if (active.length === 0) return;
    for (const family of [4, 6] as const) {
      const mine = active.filter((r) => parseCidr(r.cidr).family === family);
      if (mine.length === 0) continue;
      const kernel = await this.deps.table.list(family).catch(() => null);
      if (!kernel) continue;
      for (const r of mine) {
        if (!kernel.some((k) => k.destination.text === r.cidr && k.gateway === r.gateway)) {
          this.deps.log(`route ${r.cidr} via ${r.gateway} is gone from the routing table: adding it again`);
          this.routes.set(r.cidr, { ...r, state: "pending" });
        }
      }
    }
  }

  private async remove(routes: readonly RouteStatus[], why: string): Promise<string[]> {
    const failures: string[] = [];
    if (routes.length === 0) return failures;
    const describe = (r: RouteStatus) => `${r.cidr} via ${r.gateway}`;
    try {
      const outcomes = await this.deps.root.removeRoutes(
        routes.map((r) => ({ destination: parseCidr(r.cidr), gateway: r.gateway, profile: this.deps.profile })),
      );
      routes.forEach((r, i) => {
        const outcome = outcomes[i]!;
        if (outcome.kind === "failed") {
          this.deps.log(`removing ${describe(r)} failed: ${outcome.error}`);
          failures.push(`${describe(r)}: ${outcome.error}`);
        } else if (outcome.kind === "left-to-live-owner") {
          this.deps.log(
            `route ${describe(r)} left in place for ${outcome.owner.profile} (pid ${outcome.owner.pid}), which holds it too (${why})`,
          );
        } else this.deps.log(`route ${describe(r)} removed (${why})`);
      });
    } catch (error) {
      for (const r of routes) {
        this.deps.log(`removing ${describe(r)} failed: ${(error as Error).message}`);
        failures.push(`${describe(r)}: ${(error as Error).message}`);
      }
    }
    return failures;
  }
}
