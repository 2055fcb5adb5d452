import { createHash } from "node:crypto";
import type { Cidr } from "../../shared/cidr.js";
import type { AccessMode, AccessSnapshot, ClusterAccess } from "../access/cluster-access.js";
import type { ForwardAccess } from "../access/forwards/forward-access.js";
import { forwardSpecsOf } from "../access/forwards/forward-specs.js";
import type { ModeChoice, ModeDecision } from "../cluster/access-mode.js";
import type { NamesBackend } from "../access/names/profile-names.js";
import { ProfileNames } from "../access/names/profile-names.js";
import { type ProfileConfig, readProfileConfig } from "../cluster/profile-config.js";
import { addressAt, parseCidr } from "../../shared/cidr.js";
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
  /** Cluster names on this machine (on unless false: --no-dns, or the preference). */
  readonly names?: boolean;
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
  /** Root's side of cluster names (the helper, or this process as root); null: names stay off. */
  readonly names?: NamesBackend | null;
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
interface Parts {
  readonly access: ClusterAccess;
  readonly lbMode: LbMode;
  readonly pool: IpPool | undefined;
  readonly config: ProfileConfig;
  readonly names: NamesBackend | null;
  readonly releaseRange?: () => void;
}

export class ProfileTunnel {
  private controllerValue: LoadBalancerController | null = null;
  readonly access: ClusterAccess;
  private readonly names: ProfileNames;
  private routedKey = "";

  private constructor(
    readonly profile: string,
    private readonly parts: Parts,
    private readonly settings: TunnelSettings,
    private readonly hooks: ProfileTunnelHooks,
  ) {
    this.access = parts.access;
    this.names = new ProfileNames(profile, parts.config.dnsDomain, parts.names, hooks.log, () => this.hooks.change?.(this.snapshot()));
  }

  static async create(deps: ProfileTunnelDeps, profile: string, settings: TunnelSettings, hooks: ProfileTunnelHooks): Promise<ProfileTunnel> {
    const decision = await deps.decideMode(profile, settings.mode ?? "auto");
    hooks.log(`${decision.mode} mode: ${decision.reason}`);
    const config = await readProfileConfig(deps.miniPath, profile);
    const names = settings.names === false ? null : (deps.names ?? null);
    let tunnel: ProfileTunnel;
    if (decision.mode === "forward") {
      if (!settings.lb.enabled) throw new TunnelSettingsError(`profile "${profile}": forward mode needs the LoadBalancer controller, which gives each Service its loopback address (drop --no-lb, or use --mode route)`);
      if (settings.lb.mode === "pool") hooks.log("the LoadBalancer pool is for routed clusters; in forward mode each Service gets a loopback address instead");
      const { access, pool, release } = deps.createForwardAccess(profile);
      tunnel = new ProfileTunnel(profile, { access, lbMode: "forward", pool: new IpPool([pool]), config, names, releaseRange: release }, settings, hooks);
    } else {
      const pool = await poolFor(deps.miniPath, profile, settings.lb);
      const access = deps.createRouteAccess({ profile, lbPool: pool?.cidrs() ?? [], ...(settings.pollIntervalMs ? { pollIntervalMs: settings.pollIntervalMs } : {}) });
      tunnel = new ProfileTunnel(profile, { access, lbMode: settings.lb.mode, pool, config, names }, settings, hooks);
    }
    tunnel.access.on("log", hooks.log);
    tunnel.access.on("change", (snapshot: AccessSnapshot) => {
      tunnel.followNode(snapshot);
      hooks.change?.(tunnel.snapshot());
    });
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
    return this.controllerValue ? this.parts.lbMode : "off";
  }

  snapshot(): AccessSnapshot {
    return { ...this.access.snapshot(), names: this.names.status() };
  }

  /** Route mode's names follow the node: set once the routes are in, again when the node moves or comes back. */
  private followNode(snapshot: AccessSnapshot): void {
    if (snapshot.mode !== "route") return;
    const serviceRouted = snapshot.phase === "active" && snapshot.nodeIp !== null && snapshot.routes.some((r) => r.kind === "service" && r.state === "active");
    // Resolver settings on a link are runtime-only: when the routes come back (the node, and maybe its link, came back), set them again.
    if (!serviceRouted) this.routedKey = "";
    else this.nameRoutes(snapshot.nodeIp!);
  }

  private nameRoutes(gateway: string): void {
    const controller = this.controllerValue;
    const dns = controller?.allServices().find((s) => s.namespace === "kube-system" && s.name === "kube-dns")?.clusterIPs[0];
    const server = dns ?? addressAt(parseCidr(this.parts.config.serviceCidr), 10n);
    const usesHosts = this.names.status().how?.startsWith("hosts file") === true;
    // The hosts-file way lists the Services; the resolver way needs only the server and the link.
    const key = `${server}|${gateway}|${usesHosts && controller ? namesKey(controller.allServices()) : ""}`;
    if (key === this.routedKey) return;
    this.routedKey = key;
    void this.names.routed({ server, gateway }, () => controller?.allServices() ?? [], `kubernetes.default.svc.${this.parts.config.dnsDomain}`);
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
      await this.names.clear().catch(() => undefined);
      await this.access.stop().catch(() => undefined);
      this.parts.releaseRange?.();
      throw signal?.aborted ? new StartCancelledError(this.profile) : error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async recheck(): Promise<void> {
    await this.access.recheck();
  }

  /** The controller releases its IPs first, while the access still reaches the API; then the access comes down. */
  /** Controller first (it releases its IPs while the API is still reachable), then the names, then the access. */
  async stop(): Promise<void> {
    const failures: string[] = [];
    await this.controllerValue?.stop().catch((e: Error) => failures.push(e.message));
    await this.names.clear().catch((e: Error) => failures.push(e.message));
    try {
      await this.access.stop();
    } finally {
      this.parts.releaseRange?.();
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
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
    const controller = new LoadBalancerController(client, { mode: this.parts.lbMode, ...(this.parts.pool ? { pool: this.parts.pool } : {}), className: lb.className, releaseOnStop: lb.releaseOnStop });
    controller.on("log", this.hooks.log);
    if (this.hooks.assigned) controller.on("assigned", this.hooks.assigned);
    if (this.hooks.servicesChanged) controller.on("changed", this.hooks.servicesChanged);
    const access = this.access;
    if (access.mode === "forward") {
      const pool = this.parts.pool!;
      const follow = () => {
        const specs = forwardSpecsOf(controller.services(), (ip) => pool.contains(ip));
        void (access as ForwardAccess).setServices(specs);
        void this.names.forwarded(specs);
      };
      controller.on("changed", follow);
      controller.on("assigned", follow);
    } else {
      // The hosts-file way needs the ClusterIPs, and kube-dns's own address may differ from the tenth of the range.
      controller.on("changed", () => {
        const snapshot = this.access.snapshot();
        if (snapshot.phase === "active" && snapshot.nodeIp) this.nameRoutes(snapshot.nodeIp);
      });
    }
    await controller.start(10_000, signal);
    return controller;
  }
}

/** What the hosts-file way writes, in a few bytes: a Service can gain an address (ExternalName → ClusterIP) while the count stays. */
function namesKey(services: readonly { namespace: string; name: string; clusterIPs: readonly string[] }[]): string {
  const lines = services.map((s) => `${s.namespace}/${s.name}=${s.clusterIPs[0] ?? ""}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("base64");
}
