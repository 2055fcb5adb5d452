import type { AccessMode, AccessSnapshot, ClusterAccess } from "../access/cluster-access.js";
import { ProfileNames } from "../access/names/profile-names.js";
import type { RootNames } from "../root/index.js";
import type { ModeChoice, ModeDecision } from "../cluster/access-mode.js";
import { readProfileConfig } from "../cluster/profile-config.js";
import type { KubeConfigSource } from "../kube/kube-config.js";
import { KubeConnection } from "../kube/kube-connection.js";
import { KubeHttp } from "../kube/kube-http.js";
import { type LbMode, LoadBalancerController } from "../lb/lb-controller.js";
import type { ExternalIpEntry } from "../lb/lb-service.js";
import type { AccessRequest } from "./access-factories.js";
import { IngressFollower } from "./ingress-follower.js";
import type { TunnelSettings } from "./tunnel-settings.js";

// What a tunnel is started with, for those who start one; in its own file, which the access factories' request names too.
export { type LoadBalancerSettings, type TunnelSettings, TunnelSettingsError } from "./tunnel-settings.js";

export class StartCancelledError extends Error {
  constructor(profile: string) {
    super(`start of "${profile}" was cancelled (stop, SIGTERM or quit)`);
    this.name = "StartCancelledError";
  }
}

export interface ProfileTunnelHooks {
  readonly log: (message: string) => void;
  readonly change?: (snapshot: AccessSnapshot) => void;
  readonly assigned?: (service: string, externalIps: ExternalIpEntry[]) => void;
  /** Called whenever the controller's view of the Services may have changed. */
  readonly servicesChanged?: () => void;
}

export interface ProfileTunnelDeps {
  readonly miniPath: string;
  /** Resolves "auto" (and checks an explicit choice can work). */
  readonly decideMode: (profile: string, choice: ModeChoice) => Promise<ModeDecision>;
  /** The access for the decided mode; a new mode is a new factory, not a change here. */
  readonly createAccess: (request: AccessRequest) => Promise<ClusterAccess>;
  /** Root's side of cluster names (the helper, or this process as root); null: names stay off. */
  readonly names?: RootNames | null;
  /** The profile's kubeconfig, read for the user this process acts for. */
  readonly kubeConfig: KubeConfigSource;
}

/**
 * One profile's tunnel: its access (how the host reaches the cluster, and
 * its names) and its LoadBalancer controller (what the Services' external
 * IPs are), started and stopped together, whichever the mode.
 */
export class ProfileTunnel {
  private controllerValue: LoadBalancerController | null = null;
  private ingressValue: IngressFollower | null = null;
  /** The cluster's API, shared by the controller and the Ingress names; closed on stop. */
  private kube: KubeConnection | null = null;
  /** A start of the cluster's parts waiting for the access to take the lock over, and one under way. */
  private cancelPendingController: () => void = () => undefined;
  private controllerStarting: Promise<void> = Promise.resolve();

  private constructor(
    readonly profile: string,
    readonly access: ClusterAccess,
    private readonly settings: TunnelSettings,
    private readonly hooks: ProfileTunnelHooks,
    private readonly kubeConfig: KubeConfigSource,
  ) {}

  static async create(
    deps: ProfileTunnelDeps,
    profile: string,
    settings: TunnelSettings,
    hooks: ProfileTunnelHooks,
  ): Promise<ProfileTunnel> {
    const decision = await deps.decideMode(profile, settings.mode ?? "auto");
    hooks.log(`${decision.mode} mode: ${decision.reason}`);
    const config = await readProfileConfig(deps.miniPath, profile);
    const backend = settings.names === false ? null : (deps.names ?? null);
    const names = (changed: () => void) => new ProfileNames(profile, config.dnsDomain, backend, hooks.log, changed);
    const access = await deps.createAccess({ profile, mode: decision.mode, settings, config, log: hooks.log, names });
    const tunnel = new ProfileTunnel(profile, access, settings, hooks, deps.kubeConfig);
    access.on("log", hooks.log);
    access.on("change", (snapshot: AccessSnapshot) => hooks.change?.(snapshot));
    return tunnel;
  }

  get mode(): AccessMode {
    return this.access.mode;
  }

  get controller(): LoadBalancerController | null {
    return this.controllerValue;
  }

  /** The profile's Ingress and Gateway names, once followed. */
  get ingress(): IngressFollower | null {
    return this.ingressValue;
  }

  /** What the window shows as the profile's LoadBalancer mode. */
  get lbMode(): LbMode | "off" {
    return this.controllerValue ? this.access.controllerPlan().mode : "off";
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
      if (this.followsCluster && this.access.snapshot().phase === "blocked") this.startControllerWhenUnblocked();
      else if (this.followsCluster) await this.startClusterParts(signal);
      if (signal?.aborted) throw new StartCancelledError(this.profile);
    } catch (error) {
      // A tunnel that never started is not reported as "stopped"; its failure is the caller's to report.
      this.access.removeAllListeners();
      await this.stopClusterParts().catch(() => undefined);
      await this.access.stop().catch(() => undefined);
      throw signal?.aborted ? new StartCancelledError(this.profile) : error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async recheck(): Promise<void> {
    await this.access.recheck();
  }

  /**
   * While another tunnel holds the profile's lock (`minikube tunnel`, or a
   * tunnel of another process), it writes the Services' external IPs: a
   * second controller would fight it over status.loadBalancer. Ours starts
   * when the access takes the lock over.
   */
  private startControllerWhenUnblocked(): void {
    this.hooks.log(
      "the LoadBalancer controller waits: the tunnel that holds this profile's lock sets the Services' external IPs while it runs",
    );
    const follow = (snapshot: AccessSnapshot) => {
      if (snapshot.phase === "blocked") return;
      this.cancelPendingController();
      if (snapshot.phase === "stopping" || snapshot.phase === "stopped") return;
      this.controllerStarting = this.startClusterParts().catch((error: Error) =>
        this.hooks.log(`LoadBalancer controller not started: ${error.message}`),
      );
    };
    this.access.on("change", follow);
    this.cancelPendingController = () => {
      this.access.off("change", follow);
      this.cancelPendingController = () => undefined;
    };
  }

  /** Controller first (it releases its IPs while the API is still reachable), then the access with its names. */
  async stop(): Promise<void> {
    const failures: string[] = [];
    this.cancelPendingController();
    await this.controllerStarting;
    await this.stopClusterParts().catch((e: Error) => failures.push(e.message));
    await this.access.stop().catch((e: Error) => failures.push(e.message));
    if (failures.length > 0) throw new Error(failures.join("; "));
  }

  /** What follows the cluster's API: the LoadBalancer controller, and the Ingress and Gateway names. */
  private get followsCluster(): boolean {
    return this.settings.lb.enabled || this.settings.ingress !== false;
  }

  /**
   * One connection for both: the controller and the Ingress names start side by side, so neither waits for the
   * other's first lists.
   */
  private async startClusterParts(signal?: AbortSignal): Promise<void> {
    let client: KubeConnection;
    try {
      // Loaded again whenever the API stops answering: minikube rewrites the kubeconfig when the cluster comes back on
      // a new port.
      client = await KubeConnection.open(async () => KubeHttp.fromKubeConfig(await this.kubeConfig(this.profile)));
    } catch (error) {
      const why = (error as Error).message.replace(/\s*\n\s*/g, " ");
      if (this.settings.lb.enabled) this.hooks.log(`LoadBalancer controller not started: ${why}`);
      if (this.settings.ingress !== false) this.hooks.log(`Ingress and Gateway names not followed: ${why}`);
      return;
    }
    this.kube = client;
    if (this.settings.ingress !== false) {
      this.ingressValue = new IngressFollower(client, this.access, this.hooks.log, this.settings.ingressDiscovery);
    }
    const [controller] = await Promise.all([
      this.settings.lb.enabled ? this.startController(client, signal) : Promise.resolve(null),
      this.ingressValue?.start(10_000, signal),
    ]);
    this.controllerValue = controller;
  }

  private async stopClusterParts(): Promise<void> {
    const failures: string[] = [];
    await this.controllerValue?.stop().catch((e: Error) => failures.push(e.message));
    this.controllerValue = null;
    await this.ingressValue?.stop().catch((e: Error) => failures.push(e.message));
    this.ingressValue = null;
    this.kube?.close();
    this.kube = null;
    if (failures.length > 0) throw new Error(failures.join("; "));
  }

  private async startController(client: KubeConnection, signal?: AbortSignal): Promise<LoadBalancerController> {
    const lb = this.settings.lb;
    const plan = this.access.controllerPlan();
    const controller = new LoadBalancerController(client, {
      mode: plan.mode,
      ...(plan.pool ? { pool: plan.pool } : {}),
      className: lb.className,
      releaseOnStop: lb.releaseOnStop,
    });
    controller.on("log", this.hooks.log);
    if (this.hooks.assigned) controller.on("assigned", this.hooks.assigned);
    if (this.hooks.servicesChanged) controller.on("changed", this.hooks.servicesChanged);
    const follow = () => this.access.servicesChanged(controller);
    controller.on("changed", follow);
    controller.on("assigned", follow);
    await controller.start(10_000, signal);
    return controller;
  }
}
