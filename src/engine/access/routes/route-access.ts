import { addressAt, parseCidr } from "../../../shared/cidr.js";
import type { ClusterInspector, ClusterView } from "../../cluster/cluster-inspector.js";
import { containerEngineOf } from "../../cluster/container-cli.js";
import type { IpPool } from "../../lb/ip-pool.js";
import type { LbMode } from "../../lb/lb-controller.js";
import type { RootRoutes, RouteTable } from "../../root/index.js";
import { AccessBase, type AccessBasics } from "../access-base.js";
import type { AccessSnapshot, ControllerPlan, RouteStatus, ServicesView } from "../cluster-access.js";
import { type ProbeResult, nodeAnswers, probeTcp } from "../reachability-probe.js";
import { RouteNames } from "./route-names.js";

export interface RouteAccessDeps {
  readonly inspector: ClusterInspector;
  /** Whoever changes routes: the helper, or this process as root. */
  readonly root: RootRoutes;
  /** Read only: to notice our routes vanishing from the kernel. Listing needs no privileges. */
  readonly table: Pick<RouteTable, "list">;
  /**
   * How this process reaches the network; tests whose engine runs outside the lab's namespace pass versions that
   * connect from inside it.
   */
  readonly probe?: (host: string, port: number, signal: AbortSignal) => Promise<ProbeResult>;
  readonly nodeAnswers?: (host: string, port: number, signal: AbortSignal) => Promise<boolean>;
}

export interface RouteAccessOptions {
  /** The LoadBalancer controller's mode, and in pool mode the pool, whose CIDRs are routed too. */
  readonly lb?: { readonly mode: LbMode; readonly pool?: IpPool };
  /** How often a healthy tunnel knocks on its node (a TCP connect, no process). */
  readonly pollIntervalMs?: number;
  /** How often it re-reads the profile, the pod CIDRs and the routing table (no minikube either). */
  readonly refreshIntervalMs?: number;
  readonly maxBackoffMs?: number;
  readonly probe?: (host: string, port: number, signal: AbortSignal) => Promise<ProbeResult>;
}

/** Said when routes are in but a docker or podman node does not answer through them. */
export const FORWARD_HINT =
  "routes are in, but the cluster does not answer through them; a docker or podman node is often not routable from this machine: forward mode reaches it over SSH instead (mktunnel start --mode forward, or Forward in the window)";

/** Host states that mean the node is really gone, as opposed to a passing "Unknown". */
const NODE_DOWN: ReadonlySet<string> = new Set(["Stopped", "Nonexistent", "Paused"]);

/**
 * Route mode: one profile's routes to its node, following the node (docs/architecture.md, "Following
 * the cluster"). While healthy it only knocks on the node's API port and
 * probes the kubernetes Service; minikube is asked when the node stops
 * answering, on recheck, and while waiting. Every step can be cancelled, so
 * stop never waits behind a hung minikube. Emits `change` and `log`.
 */
export class RouteAccess extends AccessBase {
  readonly mode = "route" as const;
  private view: ClusterView | null = null;
  private routes = new Map<string, RouteStatus>();
  private activeGateway: string | null = null;
  private readonly routeNames: RouteNames;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private removalFailures: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private inFlight: AbortController | null = null;
  private lastRefresh = 0;
  private probing = false;
  /** Something worth telling about how the routes work here, such as a full-tunnel VPN they go around. */
  private note: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly refreshIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly probe: (host: string, port: number, signal: AbortSignal) => Promise<ProbeResult>;
  /** Cancels a probe in flight when the tunnel stops, so it cannot keep the process alive. */
  private readonly probes = new AbortController();
  private readonly knock: (host: string, port: number, signal: AbortSignal) => Promise<boolean>;

  private readonly inspector: ClusterInspector;
  private readonly root: RootRoutes;

  constructor(
    basics: AccessBasics,
    private readonly deps: RouteAccessDeps,
    private readonly options: RouteAccessOptions = {},
  ) {
    super(basics);
    this.inspector = deps.inspector;
    this.root = deps.root;
    this.routeNames = new RouteNames(this.names);
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.probe = options.probe ?? deps.probe ?? ((host, port, signal) => probeTcp(host, port, 1500, signal));
    this.knock = deps.nodeAnswers ?? ((host, port, signal) => nodeAnswers(host, port, 2000, signal));
  }

  async start(): Promise<void> {
    await this.serialised((signal) => this.reconcile(true, signal));
    this.schedule();
  }

  /** Asks minikube and reads the routing table back, so a flushed route comes back. */
  recheck(): Promise<void> {
    return this.serialised((signal) => this.reconcile(false, signal, true));
  }

  /** Removes every route of this tunnel; rejects, naming each route, if any could not be removed. */
  protected async teardown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.phase = "stopping";
    // A reconcile stuck in minikube is killed, not waited for; so is a probe.
    this.inFlight?.abort();
    this.probes.abort();
    await this.serialised(async () => {
      this.removalFailures = [];
      await this.removeAllRoutes("stopping");
      this.phase = "stopped";
      this.probeResult = null;
      this.emitChange();
      if (this.removalFailures.length > 0) throw new Error(`could not remove ${this.removalFailures.join("; ")}`);
    });
  }

  controllerPlan(): ControllerPlan {
    return this.options.lb ?? { mode: "clusterip" };
  }

  /**
   * The hosts-file way of naming lists the Services, and kube-dns's own address may differ from the tenth of the range.
   */
  override servicesChanged(view: ServicesView): void {
    this.routeNames.services = view.allServices();
    this.followNames();
  }

  protected details(): Omit<AccessSnapshot, "profile" | "mode" | "phase" | "probe" | "names"> {
    const suggest =
      this.phase === "active" &&
      this.probeResult?.ok === false &&
      this.view !== null &&
      containerEngineOf(this.view.config.driver) !== null;
    return {
      host: this.view?.host ?? null,
      nodeIp: this.view?.nodeIp ?? null,
      routes: [...this.routes.values()],
      // Not reaching the cluster at all outweighs a note about pod CIDRs or a VPN.
      ...(suggest
        ? { message: FORWARD_HINT }
        : this.message !== undefined
          ? { message: this.message }
          : this.note
            ? { message: this.note }
            : {}),
      ...(suggest ? { suggestion: "forward-mode" as const } : {}),
    };
  }

  /**
   * Names follow the node: set once the service route is in, again when the node moves or comes back (resolver settings
   * on a link are runtime-only).
   */
  private followNames(): void {
    const view = this.view;
    const serviceRouted =
      this.phase === "active" &&
      view?.nodeIp &&
      view.cidrs.length > 0 &&
      this.routes.get(view.serviceCidr.text)?.state === "active";
    if (!serviceRouted) this.routeNames.forget();
    else this.routeNames.follow(view.nodeIp!, view.serviceCidr);
  }

  private serialised(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      const controller = new AbortController();
      this.inFlight = controller;
      try {
        await work(controller.signal);
      } finally {
        if (this.inFlight === controller) this.inFlight = null;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.phase === "stopping" || this.phase === "stopped") return;
    const delay =
      this.failures === 0 ? this.pollIntervalMs : Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** this.failures);
    this.timer = setTimeout(() => {
      this.serialised((signal) => this.tick(signal))
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, delay);
  }

  private stopped(signal: AbortSignal): boolean {
    return signal.aborted || this.phase === "stopping" || this.phase === "stopped";
  }

  /** A healthy tunnel's heartbeat: no process unless the node stops answering. */
  private async tick(signal: AbortSignal): Promise<void> {
    const view = this.view;
    if (this.phase !== "active" || !view?.nodeIp) return this.reconcile(false, signal);
    if (!(await this.knock(view.nodeIp, view.config.apiPort, signal))) {
      if (this.stopped(signal)) return;
      this.log(`node ${view.nodeIp} does not answer; asking minikube`);
      return this.reconcile(false, signal);
    }
    if (this.stopped(signal)) return;
    if (Date.now() - this.lastRefresh >= this.refreshIntervalMs) {
      this.lastRefresh = Date.now();
      const fresh = await this.inspector.refresh(view, this.inspectOptions(signal)).catch(() => view);
      if (this.stopped(signal)) return;
      this.view = fresh;
      await this.applyRoutes(fresh, view.nodeIp, true);
    }
    this.probeService();
    this.emitChange();
  }

  private inspectOptions(signal: AbortSignal) {
    const pool = this.options.lb?.pool?.cidrs();
    return { ...(pool ? { lbPool: pool } : {}), signal };
  }

  private async reconcile(first: boolean, signal: AbortSignal, verifyTable = false): Promise<void> {
    if (this.stopped(signal)) return;
    if (!(await this.holdLock("adding routes", "adds no routes", first))) return;
    let view: ClusterView;
    try {
      view = await this.inspector.inspect(this.profile, this.inspectOptions(signal));
    } catch (error) {
      if (this.stopped(signal)) return;
      if (first) throw error;
      this.failures++;
      this.phase = "retrying";
      this.message = `cannot read the cluster state, keeping routes and retrying: ${(error as Error).message}`;
      this.log(this.message);
      this.emitChange();
      return;
    }
    if (this.stopped(signal)) return;
    this.view = view;
    if (view.host !== "Running" || view.nodeIp === null) {
      if (NODE_DOWN.has(view.host)) {
        // Waiting asks minikube again, so it slows down while the node stays away.
        this.failures = Math.min(this.failures + 1, 2);
        if (this.routes.size > 0)
          this.log(`node of "${this.profile}" is ${view.host}: removing routes and waiting for it`);
        await this.removeAllRoutes("node stopped");
        this.phase = "waiting-for-node";
        this.message = `waiting for the node (host is ${view.host})`;
      } else {
        // "Unknown" and friends are often a passing state; tearing down would flap the routes.
        this.failures++;
        this.phase = "retrying";
        this.message = `host state is ${view.host}; keeping routes and retrying`;
      }
      this.probeResult = null;
      this.emitChange();
      return;
    }
    this.failures = 0;
    this.message = view.podCidrError ? `pod CIDRs unknown: ${view.podCidrError}` : undefined;
    if (this.activeGateway !== null && this.activeGateway !== view.nodeIp) {
      this.log(`node IP of "${this.profile}" changed from ${this.activeGateway} to ${view.nodeIp}: moving routes`);
      await this.removeAllRoutes("node IP changed");
    }
    await this.applyRoutes(view, view.nodeIp, verifyTable);
    this.lastRefresh = Date.now();
    this.phase = "active";
    this.emitChange();
    this.probeService();
  }

  /**
   * Probes the kubernetes Service through the route, in the background: a
   * probe that times out must not delay a start or a stop. Its result comes
   * as one more `change`.
   */
  private probeService(): void {
    const view = this.view;
    const service = view ? this.routes.get(view.serviceCidr.text) : undefined;
    if (!view || service?.state !== "active") {
      this.probeResult = null;
      return;
    }
    if (this.probing) return;
    this.probing = true;
    void this.probe(addressAt(view.serviceCidr, 1n), 443, this.probes.signal)
      .then((result) => {
        if (this.phase === "active") this.recordProbe(result);
      })
      .catch(() => undefined)
      .finally(() => (this.probing = false));
  }

  /**
   * Adds every wanted route that is not active yet, in one batch. With
   * `verifyTable`, routes we believe active are checked against the kernel
   * first, so a route someone flushed comes back.
   */
  private async applyRoutes(view: ClusterView, gateway: string, verifyTable: boolean): Promise<void> {
    const wanted = new Set(view.cidrs.map((c) => c.cidr.text));
    const unwanted = [...this.routes.values()].filter((r) => !wanted.has(r.cidr));
    await this.removeRoutes(
      unwanted.filter((r) => r.state === "active"),
      "no longer part of the cluster",
    );
    for (const r of unwanted) this.routes.delete(r.cidr);
    this.activeGateway = gateway;
    if (verifyTable) await this.forgetVanishedRoutes();
    const missing = view.cidrs.filter(({ cidr }) => this.routes.get(cidr.text)?.state !== "active");
    if (missing.length === 0) return;
    // Not reaching root (a declined password, no helper) or a refused declaration fails the start, said plainly.
    await this.root.declare({
      profile: this.profile,
      nodeIp: gateway,
      cidrs: view.cidrs.map((c) => c.cidr),
      clusterDomain: view.config.dnsDomain,
      clusterDnsIp: view.clusterDnsIp,
    });
    let outcomes;
    try {
      outcomes = await this.root.addRoutes(
        missing.map(({ cidr }) => ({ destination: cidr, gateway, profile: this.profile })),
      );
    } catch (error) {
      const message = (error as Error).message;
      this.log(`adding routes via ${gateway} failed: ${message}`);
      for (const { cidr, kind } of missing)
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "error", error: message });
      return;
    }
    missing.forEach(({ cidr, kind }, i) => {
      const outcome = outcomes[i]!;
      const before = this.routes.get(cidr.text);
      if (outcome.kind === "conflict") {
        if (before?.state !== "conflict") this.log(`conflict: ${outcome.conflict.message}; not adding ${cidr.text}`);
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "conflict", conflict: outcome.conflict });
      } else if (outcome.kind === "failed") {
        this.log(`route ${cidr.text} via ${gateway} failed: ${outcome.error}`);
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "error", error: outcome.error });
      } else {
        this.log(
          `route ${cidr.text} via ${gateway} ${outcome.kind === "added" ? "added" : outcome.kind === "adopted" ? "adopted from a dead tunnel" : "already active"}`,
        );
        if (outcome.note && outcome.note !== this.note) this.log(`note: ${outcome.note}`);
        if (outcome.note) this.note = outcome.note;
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "active" });
      }
    });
  }

  /**
   * Routes we hold that are no longer in the kernel (someone flushed them) go back to pending, so they are added again.
   */
  private async forgetVanishedRoutes(): Promise<void> {
    const active = [...this.routes.values()].filter((r) => r.state === "active");
    if (active.length === 0) return;
    for (const family of [4, 6] as const) {
      const mine = active.filter((r) => parseCidr(r.cidr).family === family);
      if (mine.length === 0) continue;
      const kernel = await this.deps.table.list(family).catch(() => null);
      if (!kernel) continue;
      for (const r of mine) {
        if (!kernel.some((k) => k.destination.text === r.cidr && k.gateway === r.gateway)) {
          this.log(`route ${r.cidr} via ${r.gateway} is gone from the routing table: adding it again`);
          this.routes.set(r.cidr, { ...r, state: "pending" });
        }
      }
    }
  }

  private async removeAllRoutes(why: string): Promise<void> {
    await this.removeRoutes(
      [...this.routes.values()].filter((r) => r.state === "active"),
      why,
    );
    this.routes.clear();
    this.activeGateway = null;
  }

  private async removeRoutes(routes: readonly RouteStatus[], why: string): Promise<void> {
    if (routes.length === 0) return;
    const describe = (r: RouteStatus) => `${r.cidr} via ${r.gateway}`;
    try {
      const outcomes = await this.root.removeRoutes(
        routes.map((r) => ({ destination: parseCidr(r.cidr), gateway: r.gateway, profile: this.profile })),
      );
      routes.forEach((r, i) => {
        const outcome = outcomes[i]!;
        if (outcome.kind === "failed") {
          this.log(`removing ${describe(r)} failed: ${outcome.error}`);
          this.removalFailures.push(`${describe(r)}: ${outcome.error}`);
        } else if (outcome.kind === "left-to-live-owner") {
          this.log(
            `route ${describe(r)} left in place for ${outcome.owner.profile} (pid ${outcome.owner.pid}), which holds it too (${why})`,
          );
        } else this.log(`route ${describe(r)} removed (${why})`);
      });
    } catch (error) {
      for (const r of routes) {
        this.log(`removing ${describe(r)} failed: ${(error as Error).message}`);
        this.removalFailures.push(`${describe(r)}: ${(error as Error).message}`);
      }
    }
  }

  /** Every change may mean the service route came or went, or the node moved: names follow. */
  protected override emitChange(): void {
    this.followNames();
    super.emitChange();
  }
}
