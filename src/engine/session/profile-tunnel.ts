import type { Cidr } from "../../shared/cidr.js";
import type { AccessMode, AccessSnapshot, ClusterAccess } from "../access/cluster-access.js";
import type { ForwardAccess } from "../access/forwards/forward-access.js";
import { forwardSpecsOf } from "../access/forwards/forward-specs.js";
import type { ModeChoice, ModeDecision } from "../cluster/access-mode.js";
import { readProfileConfig } from "../cluster/profile-config.js";
import { kubeConfigForProfile } from "../kube/kube-config.js";
import { KubeConnection } from "../kube/kube-connection.js";
import { KubeHttp } from "../kube/kube-http.js";
import { IpPool } from "../lb/ip-pool.js";
import { LoadBalancerController, type LbMode } from "../lb/lb-controller.js";
import type { IngressEntry } from "../lb/lb-service.js";

export interface LoadBalancerSettings {
  readonly enabled: boolean;
  readonly mode: LbMode;
  /** CIDRs or start-end ranges; empty means the profile's LoadBalancerStartIP-EndIP. */
  readonly pool: readonly string[];
  readonly className: string | null;
  readonly releaseOnStop: boolean;
}

export interface TunnelSettings {
  /** Route or forward, or "auto" to follow minikube's own rule for the driver. */
  readonly mode?: ModeChoice;
  readonly lb: LoadBalancerSettings;
  /** How often a healthy access checks its node. */
  readonly pollIntervalMs?: number;
}

/** A setting the user has to change: the CLI exits 2 on it, the app shows it. */
export class TunnelSettingsError extends Error {}

export class StartCancelledError extends Error {
  constructor(profile: string) {
    super(`start of "${profile}" was cancelled (stop, SIGTERM or quit)`);
    this.name = "StartCancelledError";
  }
}

export interface ProfileTunnelHooks {
  readonly log: (message: string) => void;
  readonly change?: (snapshot: AccessSnapshot) => void;
  readonly assigned?: (service: string, ingress: IngressEntry[]) => void;
  /** Called whenever the controller's view of the Services may have changed. */
  readonly servicesChanged?: () => void;
}

export interface AccessRequest {
  readonly profile: string;
  /** Pool mode's CIDRs, routed too in route mode. */
  readonly lbPool: readonly Cidr[];
  readonly pollIntervalMs?: number;
}

export interface ProfileTunnelDeps {
  readonly miniPath: string;
  /** Resolves "auto" (and checks an explicit choice can work). */
  readonly decideMode: (profile: string, choice: ModeChoice) => Promise<ModeDecision>;
  readonly createRouteAccess: (request: AccessRequest) => ClusterAccess;
  /** Forward mode's access, and the loopback pool its controller hands out. */
  readonly createForwardAccess: (profile: string) => { access: ForwardAccess; pool: string; release: () => void };
}

export async function poolFor(miniPath: string, profile: string, lb: LoadBalancerSettings): Promise<IpPool | undefined> {
  if (!lb.enabled || lb.mode !== "pool") return undefined;
  if (lb.pool.length > 0) return new IpPool(lb.pool);
  const range = (await readProfileConfig(miniPath, profile)).loadBalancerRange;
  if (!range) throw new TunnelSettingsError(`profile "${profile}": LoadBalancer pool mode needs a pool (mktunnel --lb-pool, or the pool in Preferences), or LoadBalancerStartIP and LoadBalancerEndIP in the profile`);
  return new IpPool([`${range.start}-${range.end}`]);
}

/**
 * One profile's tunnel: its access (how the host reaches the cluster) and
 * its LoadBalancer controller (what the Services' external IPs are), started
 * and stopped together.
 */
export class ProfileTunnel {
  private controllerValue: LoadBalancerController | null = null;

  private constructor(
    readonly profile: string,
    readonly access: ClusterAccess,
    private readonly settings: TunnelSettings,
    private readonly lbMode_: LbMode,
    private readonly pool: IpPool | undefined,
    private readonly hooks: ProfileTunnelHooks,
    private readonly releaseRange: () => void = () => undefined,
  ) {}

  static async create(deps: ProfileTunnelDeps, profile: string, settings: TunnelSettings, hooks: ProfileTunnelHooks): Promise<ProfileTunnel> {
    const decision = await deps.decideMode(profile, settings.mode ?? "auto");
    hooks.log(`${decision.mode} mode: ${decision.reason}`);
    let tunnel: ProfileTunnel;
    if (decision.mode === "forward") {
      if (!settings.lb.enabled) throw new TunnelSettingsError(`profile "${profile}": forward mode needs the LoadBalancer controller, which gives each Service its loopback address (drop --no-lb, or use --mode route)`);
      if (settings.lb.mode === "pool") hooks.log("the LoadBalancer pool is for routed clusters; in forward mode each Service gets a loopback address instead");
      const { access, pool, release } = deps.createForwardAccess(profile);
      tunnel = new ProfileTunnel(profile, access, settings, "forward", new IpPool([pool]), hooks, release);
    } else {
      const pool = await poolFor(deps.miniPath, profile, settings.lb);
      const access = deps.createRouteAccess({ profile, lbPool: pool?.cidrs() ?? [], ...(settings.pollIntervalMs ? { pollIntervalMs: settings.pollIntervalMs } : {}) });
      tunnel = new ProfileTunnel(profile, access, settings, settings.lb.mode, pool, hooks);
    }
    tunnel.access.on("log", hooks.log);
    if (hooks.change) tunnel.access.on("change", hooks.change);
    return tunnel;
  }

  get mode(): AccessMode {
    return this.access.mode;
  }

  get controller(): LoadBalancerController | null {
    return this.controllerValue;
  }

  /** What the window shows as the profile's LoadBalancer mode. */
  get lbMode(): LbMode | "off" {
    return this.controllerValue ? this.lbMode_ : "off";
  }

  snapshot(): AccessSnapshot {
    return this.access.snapshot();
  }

  /**
   * Access first (in route mode the pool CIDR is routed too), then the
   * controller. A kube context that cannot be loaded leaves the access running
   * and says why: routes still reach ClusterIPs. `signal` cancels a start in
   * flight: whatever was set up is taken down again before this rejects, so a
   * quit never leaves a route or an external IP behind.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const onAbort = () => void this.access.stop().catch(() => undefined);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) throw new StartCancelledError(this.profile);
      await this.access.start();
      if (signal?.aborted) throw new StartCancelledError(this.profile);
      if (this.settings.lb.enabled) this.controllerValue = await this.startController(signal);
      if (signal?.aborted) throw new StartCancelledError(this.profile);
    } catch (error) {
      // A tunnel that never started is not reported as "stopped"; its failure is the caller's to report.
      this.access.removeAllListeners();
      await this.controllerValue?.stop().catch(() => undefined);
      this.controllerValue = null;
      await this.access.stop().catch(() => undefined);
      this.releaseRange();
      throw signal?.aborted ? new StartCancelledError(this.profile) : error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async recheck(): Promise<void> {
    await this.access.recheck();
  }

  /** The controller releases its IPs first, while the access still reaches the API; then the access comes down. */
  async stop(): Promise<void> {
    try {
      await this.controllerValue?.stop();
    } finally {
      try {
        await this.access.stop();
      } finally {
        this.releaseRange();
      }
    }
  }

  private async startController(signal?: AbortSignal): Promise<LoadBalancerController | null> {
    let client: KubeConnection;
    try {
      // Loaded again whenever the API stops answering: minikube rewrites the kubeconfig when the cluster comes back on a new port.
      client = await KubeConnection.open(() => KubeHttp.fromKubeConfig(kubeConfigForProfile(this.profile)));
    } catch (error) {
      this.hooks.log(`LoadBalancer controller not started: ${(error as Error).message.replace(/\s*\n\s*/g, " ")}`);
      return null;
    }
    const lb = this.settings.lb;
    const controller = new LoadBalancerController(client, { mode: this.lbMode_, ...(this.pool ? { pool: this.pool } : {}), className: lb.className, releaseOnStop: lb.releaseOnStop });
    controller.on("log", this.hooks.log);
    if (this.hooks.assigned) controller.on("assigned", this.hooks.assigned);
    if (this.hooks.servicesChanged) controller.on("changed", this.hooks.servicesChanged);
    const access = this.access;
    if (access.mode === "forward") {
      const pool = this.pool!;
      const follow = () => void (access as ForwardAccess).setServices(forwardSpecsOf(controller.services(), (ip) => pool.contains(ip)));
      controller.on("changed", follow);
      controller.on("assigned", follow);
    }
    await controller.start(10_000, signal);
    return controller;
  }
}
