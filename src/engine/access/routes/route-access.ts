import { addressAt } from "../../../shared/cidr.js";
import type { ClusterInspector, ClusterView } from "../../cluster/cluster-inspector.js";
import { containerEngineOf } from "../../cluster/container-cli.js";
import type { IpPool } from "../../lb/ip-pool.js";
import type { LbMode } from "../../lb/lb-controller.js";
import { AccessBase, type AccessBasics } from "../access-base.js";
import type { AccessSnapshot, ControllerPlan, ServicesView } from "../cluster-access.js";
import { type ProbeResult, nodeAnswers, probeTcp } from "../reachability-probe.js";
import { HeldRoutes, type HeldRoutesDeps } from "./held-routes.js";
import { RouteNames } from "./route-names.js";
import type { HostEntry, IngressNames } from "../../ingress/name-types.js";
import { type Placement, ingressRequest, ingressStatuses } from "../names/ingress-names.js";

export interface RouteAccessDeps extends Pick<HeldRoutesDeps, "root" | "table"> {
  readonly inspector: ClusterInspector;
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

/**
 * Where an Ingress or Gateway name answers in route mode: its controller's own address (the node for hostPorts; an
 * external IP or ClusterIP through the routes).
 */
const routedPlace = (entry: HostEntry): Placement => ({ ip: entry.address.ip });

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
  private readonly routes: HeldRoutes;
  private readonly routeNames: RouteNames;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private queue: Promise<void> = Promise.resolve();
  private inFlight: AbortController | null = null;
  private lastRefresh = 0;
  private probing = false;
  private readonly pollIntervalMs: number;
  private readonly refreshIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly probe: (host: string, port: number, signal: AbortSignal) => Promise<ProbeResult>;
  /** Cancels a probe in flight when the tunnel stops, so it cannot keep the process alive. */
  private readonly probes = new AbortController();
  private readonly knock: (host: string, port: number, signal: AbortSignal) => Promise<boolean>;

  private readonly inspector: ClusterInspector;
  private ingressNames: IngressNames | null = null;

  constructor(
    basics: AccessBasics,
    deps: RouteAccessDeps,
    private readonly options: RouteAccessOptions = {},
  ) {
    super(basics);
    this.inspector = deps.inspector;
    this.routes = new HeldRoutes({
      profile: this.profile,
      root: deps.root,
      table: deps.table,
      log: (line) => this.log(line),
    });
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
      const failures = await this.routes.removeAll("stopping");
      this.phase = "stopped";
      this.probeResult = null;
      this.emitChange();
      if (failures.length > 0) throw new Error(`could not remove ${failures.join("; ")}`);
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

  /** Route mode reaches every place as the cluster does: each name goes to its own address, through the routes. */
  override ingressChanged(names: IngressNames): void {
    this.ingressNames = names;
    void this.names.setIngress(ingressRequest(names, routedPlace));
    this.emitChange();
  }

  protected override ingressDetails(): Pick<AccessSnapshot, "ingresses" | "gateways"> {
    if (!this.ingressNames) return {};
    return ingressStatuses(this.ingressNames, routedPlace, (host, wildcard) =>
      this.names.ingressOutcome(host, wildcard),
    );
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
      routes: this.routes.list(),
      // Not reaching the cluster at all outweighs a note about pod CIDRs or a VPN.
      ...(suggest
        ? { message: FORWARD_HINT }
        : this.message !== undefined
          ? { message: this.message }
          : this.routes.note
            ? { message: this.routes.note }
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
      await this.routes.apply(fresh, view.nodeIp, true);
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
        await this.routes.removeAll("node stopped");
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
    this.message = view.podCidrError ? `pod CIDRs: ${view.podCidrError}` : undefined;
    if (this.routes.gateway !== null && this.routes.gateway !== view.nodeIp) {
      this.log(`node IP of "${this.profile}" changed from ${this.routes.gateway} to ${view.nodeIp}: moving routes`);
      await this.routes.removeAll("node IP changed");
    }
    await this.routes.apply(view, view.nodeIp, verifyTable);
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

  /** Every change may mean the service route came or went, or the node moved: names follow. */
  protected override emitChange(): void {
    this.followNames();
    super.emitChange();
  }
}
