import { EventEmitter } from "node:events";
import { type Cidr, addressAt, parseCidr } from "../../shared/cidr.js";
import type { RouteConflict, RouteState } from "../../shared/routes.js";
import type { CidrKind, ClusterInspector, ClusterView } from "../cluster/cluster-inspector.js";
import type { HostState } from "../cluster/minikube-cli.js";
import type { RouteService } from "../registry/route-service.js";
import { type ProbeResult, probeTcp } from "./reachability-probe.js";

export type TunnelPhase = "starting" | "active" | "waiting-for-node" | "retrying" | "stopping" | "stopped";

export interface RouteStatus {
  readonly cidr: string;
  readonly kind: CidrKind;
  readonly gateway: string;
  readonly state: RouteState;
  readonly conflict?: RouteConflict;
  readonly error?: string;
}

export interface TunnelSnapshot {
  readonly profile: string;
  readonly phase: TunnelPhase;
  readonly host: HostState | null;
  readonly nodeIp: string | null;
  readonly routes: readonly RouteStatus[];
  readonly probe: ProbeResult | null;
  readonly message?: string;
}

export interface ProfileTunnelOptions {
  readonly profile: string;
  readonly lbPool?: readonly Cidr[];
  readonly pollIntervalMs?: number;
  readonly maxBackoffMs?: number;
  readonly probe?: (host: string, port: number) => Promise<ProbeResult>;
}

/** Host states that mean the node is really gone, as opposed to a passing "Unknown". */
const NODE_DOWN: ReadonlySet<string> = new Set(["Stopped", "Nonexistent", "Paused"]);

/**
 * One profile's tunnel: routes follow the node (DESIGN §1 step 7). It emits
 * `change` with a snapshot after every reconcile and `log` with progress lines.
 */
export class ProfileTunnel extends EventEmitter {
  readonly profile: string;
  private phase: TunnelPhase = "starting";
  private view: ClusterView | null = null;
  private routes = new Map<string, RouteStatus>();
  private activeGateway: string | null = null;
  private probeResult: ProbeResult | null = null;
  private message: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private removalFailures: string[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly probe: (host: string, port: number) => Promise<ProbeResult>;

  constructor(
    private readonly inspector: ClusterInspector,
    private readonly registrar: RouteService,
    private readonly options: ProfileTunnelOptions,
  ) {
    super();
    this.profile = options.profile;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.probe = options.probe ?? ((host, port) => probeTcp(host, port));
  }

  /** First reconcile; a profile that cannot be read at all fails here, so the caller can report it. */
  async start(): Promise<void> {
    await this.serialised(() => this.reconcile(true));
    this.schedule();
  }

  /** Re-check now (resume from sleep, network change). */
  recheck(): Promise<void> {
    return this.serialised(() => this.reconcile(false));
  }

  /** Removes every route of this tunnel; rejects, naming each route, if any could not be removed. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.phase = "stopping";
    await this.serialised(async () => {
      this.removalFailures = [];
      await this.removeAllRoutes("stopping");
      this.phase = "stopped";
      this.probeResult = null;
      this.emitChange();
      if (this.removalFailures.length > 0) throw new Error(`could not remove ${this.removalFailures.join("; ")}`);
    });
  }

  snapshot(): TunnelSnapshot {
    return {
      profile: this.profile,
      phase: this.phase,
      host: this.view?.host ?? null,
      nodeIp: this.view?.nodeIp ?? null,
      routes: [...this.routes.values()],
      probe: this.probeResult,
      ...(this.message !== undefined ? { message: this.message } : {}),
    };
  }

  private serialised(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.phase === "stopping" || this.phase === "stopped") return;
    const delay = this.failures === 0 ? this.pollIntervalMs : Math.min(this.maxBackoffMs, this.pollIntervalMs * 2 ** this.failures);
    this.timer = setTimeout(() => {
      this.serialised(() => this.reconcile(false))
        .catch(() => undefined)
        .finally(() => this.schedule());
    }, delay);
  }

  private async reconcile(first: boolean): Promise<void> {
    if (this.phase === "stopping" || this.phase === "stopped") return;
    let view: ClusterView;
    try {
      view = await this.inspector.inspect(this.profile, this.options.lbPool ? { lbPool: this.options.lbPool } : {});
    } catch (error) {
      if (first) throw error;
      this.failures++;
      this.phase = "retrying";
      this.message = `cannot read the cluster state, keeping routes and retrying: ${(error as Error).message}`;
      this.log(this.message);
      this.emitChange();
      return;
    }
    this.view = view;
    if (view.host !== "Running" || view.nodeIp === null) {
      if (NODE_DOWN.has(view.host)) {
        this.failures = 0;
        if (this.routes.size > 0) this.log(`node of "${this.profile}" is ${view.host}: removing routes and waiting for it`);
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
    await this.applyRoutes(view, view.nodeIp);
    this.phase = "active";
    const service = this.routes.get(view.serviceCidr.text);
    this.probeResult = service?.state === "active" ? await this.probe(addressAt(view.serviceCidr, 1n), 443) : null;
    this.emitChange();
  }

  private async applyRoutes(view: ClusterView, gateway: string): Promise<void> {
    const wanted = new Set(view.cidrs.map((c) => c.cidr.text));
    for (const [text, status] of [...this.routes]) {
      if (!wanted.has(text) && status.state === "active") await this.removeRoute(status, "no longer part of the cluster");
      if (!wanted.has(text)) this.routes.delete(text);
    }
    this.activeGateway = gateway;
    await this.registrar.declare(this.profile, gateway, view.cidrs.map((c) => c.cidr), view.config.dnsDomain, view.clusterDnsIp);
    for (const { cidr, kind } of view.cidrs) {
      const before = this.routes.get(cidr.text);
      if (before?.state === "active") continue;
      try {
        const outcome = await this.registrar.add({
          destination: cidr,
          gateway,
          profile: this.profile,
          clusterDomain: view.config.dnsDomain,
          clusterDnsIp: view.clusterDnsIp,
        });
        if (outcome.kind === "conflict") {
          if (before?.state !== "conflict") this.log(`conflict: ${outcome.conflict.message}; not adding ${cidr.text}`);
          this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "conflict", conflict: outcome.conflict });
        } else {
          this.log(`route ${cidr.text} via ${gateway} ${outcome.kind === "added" ? "added" : outcome.kind === "adopted" ? "adopted from a dead tunnel" : "already active"}`);
          this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "active" });
        }
      } catch (error) {
        this.log(`route ${cidr.text} via ${gateway} failed: ${(error as Error).message}`);
        this.routes.set(cidr.text, { cidr: cidr.text, kind, gateway, state: "error", error: (error as Error).message });
      }
    }
  }

  private async removeAllRoutes(why: string): Promise<void> {
    for (const status of [...this.routes.values()]) {
      if (status.state === "active") await this.removeRoute(status, why);
    }
    this.routes.clear();
    this.activeGateway = null;
  }

  private async removeRoute(status: RouteStatus, why: string): Promise<void> {
    try {
      await this.registrar.remove(parseCidr(status.cidr), status.gateway, this.profile);
      this.log(`route ${status.cidr} via ${status.gateway} removed (${why})`);
    } catch (error) {
      this.log(`removing ${status.cidr} via ${status.gateway} failed: ${(error as Error).message}`);
      this.removalFailures.push(`${status.cidr} via ${status.gateway}: ${(error as Error).message}`);
    }
  }

  private log(line: string): void {
    this.emit("log", line);
  }

  private emitChange(): void {
    this.emit("change", this.snapshot());
  }
}
