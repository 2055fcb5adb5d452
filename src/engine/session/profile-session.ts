import type { Engine } from "../engine.js";
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

/** A setting the user has to change: the CLI exits 2 on it, the app shows it. */
export class SessionSettingsError extends Error {}

export interface ProfileSessionHooks {
  readonly log: (message: string) => void;
  readonly assigned?: (service: string, ingress: IngressEntry[]) => void;
  /** Called whenever the controller's view of the Services may have changed. */
  readonly servicesChanged?: () => void;
  readonly pollIntervalMs?: number;
}

/** One profile's routes plus its LoadBalancer controller, started and stopped together. */
export interface ProfileSession {
  readonly profile: string;
  readonly controller: LoadBalancerController | null;
  stop(): Promise<void>;
}

export async function poolFor(miniPath: string, profile: string, lb: LoadBalancerSettings): Promise<IpPool | undefined> {
  if (!lb.enabled || lb.mode !== "pool") return undefined;
  if (lb.pool.length > 0) return new IpPool(lb.pool);
  const range = (await readProfileConfig(miniPath, profile)).loadBalancerRange;
  if (!range) throw new SessionSettingsError(`profile "${profile}": LoadBalancer pool mode needs a pool (mktunnel --lb-pool, or the pool in Preferences), or LoadBalancerStartIP and LoadBalancerEndIP in the profile`);
  return new IpPool([`${range.start}-${range.end}`]);
}

export class StartCancelledError extends Error {
  constructor(profile: string) {
    super(`start of "${profile}" was cancelled (stop, SIGTERM or quit)`);
    this.name = "StartCancelledError";
  }
}

/**
 * Routes first (the pool CIDR is routed too), then the controller. A kube
 * context that cannot be loaded leaves the routes running and says why: the
 * tunnel is still useful for ClusterIPs. `signal` cancels a start in flight:
 * whatever was already set up is taken down again before this rejects, so a
 * quit never leaves a route or an external IP behind.
 */
export async function startProfileSession(engine: Engine, profile: string, lb: LoadBalancerSettings, hooks: ProfileSessionHooks, signal?: AbortSignal): Promise<ProfileSession> {
  const pool = await poolFor(engine.miniPath, profile, lb);
  const onAbort = () => void engine.manager.stop(profile).catch(() => undefined);
  signal?.addEventListener("abort", onAbort, { once: true });
  let controller: LoadBalancerController | null = null;
  try {
    if (signal?.aborted) throw new StartCancelledError(profile);
    await engine.manager.start({ profile, lbPool: pool?.cidrs() ?? [], ...(hooks.pollIntervalMs ? { pollIntervalMs: hooks.pollIntervalMs } : {}) });
    if (signal?.aborted) throw new StartCancelledError(profile);
    if (lb.enabled) controller = await startController(profile, lb, pool, hooks, signal);
    if (signal?.aborted) throw new StartCancelledError(profile);
  } catch (error) {
    await controller?.stop().catch(() => undefined);
    await engine.manager.stop(profile).catch(() => undefined);
    throw signal?.aborted ? new StartCancelledError(profile) : error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return {
    profile,
    controller,
    async stop() {
      try {
        await controller?.stop();
      } finally {
        await engine.manager.stop(profile);
      }
    },
  };
}

async function startController(profile: string, lb: LoadBalancerSettings, pool: IpPool | undefined, hooks: ProfileSessionHooks, signal?: AbortSignal): Promise<LoadBalancerController | null> {
  let client: KubeConnection;
  try {
    // Loaded again whenever the API stops answering: minikube rewrites the kubeconfig when the cluster comes back on a new port.
    client = await KubeConnection.open(() => KubeHttp.fromKubeConfig(kubeConfigForProfile(profile)));
  } catch (error) {
    hooks.log(`LoadBalancer controller not started: ${(error as Error).message.replace(/\s*\n\s*/g, " ")}`);
    return null;
  }
  const controller = new LoadBalancerController(client, { mode: lb.mode, ...(pool ? { pool } : {}), className: lb.className, releaseOnStop: lb.releaseOnStop });
  controller.on("log", hooks.log);
  if (hooks.assigned) controller.on("assigned", hooks.assigned);
  if (hooks.servicesChanged) controller.on("changed", hooks.servicesChanged);
  await controller.start(10_000, signal);
  return controller;
}
