import type { Engine } from "../engine/engine.js";
import { readProfileConfig } from "../engine/cluster/profile-config.js";
import { kubeConfigForProfile } from "../engine/kube/kube-config.js";
import { KubeHttp } from "../engine/kube/kube-http.js";
import { IpPool } from "../engine/lb/ip-pool.js";
import { LoadBalancerController, type LbMode } from "../engine/lb/lb-controller.js";
import type { IngressEntry } from "../engine/lb/lb-service.js";
import type { TunnelSnapshot } from "../engine/tunnel/profile-tunnel.js";
import { CliError, oneLine } from "./cli-errors.js";

export interface StartOptions {
  readonly profiles: readonly string[];
  readonly json: boolean;
  readonly pollIntervalMs: number;
  readonly lb: {
    readonly enabled: boolean;
    readonly mode: LbMode;
    /** CIDRs or start-end ranges; empty means the profile's LoadBalancerStartIP-EndIP. */
    readonly pool: readonly string[];
    readonly className: string | null;
    readonly releaseOnStop: boolean;
  };
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

async function poolFor(engine: Engine, profile: string, options: StartOptions): Promise<IpPool | undefined> {
  if (!options.lb.enabled || options.lb.mode !== "pool") return undefined;
  if (options.lb.pool.length > 0) return new IpPool(options.lb.pool);
  const range = (await readProfileConfig(engine.miniPath, profile)).loadBalancerRange;
  if (!range) throw new CliError(`profile "${profile}": --lb-mode pool needs --lb-pool, or LoadBalancerStartIP and LoadBalancerEndIP in the profile`, 2);
  return new IpPool([`${range.start}-${range.end}`]);
}

/** Foreground tunnel (DESIGN §3.3): runs until SIGINT or SIGTERM, then removes everything it added. */
export async function runStart(engine: Engine, options: StartOptions): Promise<void> {
  const say = (event: Record<string, unknown>, text: string) => {
    process.stdout.write(options.json ? `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n` : `${text}\n`);
  };
  engine.manager.on("log", (profile: string, message: string) => say({ event: "log", profile, message }, `[${profile}] ${message}`));
  const lastPhase = new Map<string, string>();
  engine.manager.on("change", (snapshot: TunnelSnapshot) => {
    if (options.json) say({ event: "state", ...snapshot }, "");
    else if (lastPhase.get(snapshot.profile) !== snapshot.phase) say({}, `[${snapshot.profile}] ${snapshot.phase}${snapshot.message ? `: ${snapshot.message}` : ""}`);
    lastPhase.set(snapshot.profile, snapshot.phase);
  });
  // Listen before the first route goes in, so a signal during start-up still cleans up.
  const stopSignal = waitForStopSignal();
  const controllers: LoadBalancerController[] = [];
  let startError: unknown;
  for (const profile of options.profiles) {
    try {
      const pool = await poolFor(engine, profile, options);
      await engine.manager.start({ profile, lbPool: pool?.cidrs() ?? [], pollIntervalMs: options.pollIntervalMs });
      if (options.lb.enabled) {
        const controller = await startController(profile, options, pool, say);
        if (controller) controllers.push(controller);
      }
    } catch (error) {
      startError = error instanceof CliError ? error : new Error(`profile "${profile}": ${oneLine(error)}`);
      break;
    }
  }
  if (startError === undefined) {
    say({ event: "ready", profiles: options.profiles }, "Tunnel running. Press Ctrl+C to stop and remove its routes.");
    const signal = await stopSignal;
    say({ event: "stopping", signal }, `${signal}: removing routes...`);
  }
  await Promise.allSettled(controllers.map((c) => c.stop()));
  await engine.manager.stopAll();
  if (startError !== undefined) throw startError;
  say({ event: "stopped" }, "Stopped; routes and registry entries removed.");
}

async function startController(
  profile: string,
  options: StartOptions,
  pool: IpPool | undefined,
  say: (event: Record<string, unknown>, text: string) => void,
): Promise<LoadBalancerController | null> {
  let client: KubeHttp;
  try {
    client = await KubeHttp.fromKubeConfig(kubeConfigForProfile(profile));
  } catch (error) {
    say({ event: "log", profile, message: `LoadBalancer controller not started: ${oneLine(error)}` }, `[${profile}] LoadBalancer controller not started: ${oneLine(error)}`);
    return null;
  }
  const controller = new LoadBalancerController(client, {
    mode: options.lb.mode,
    ...(pool ? { pool } : {}),
    className: options.lb.className,
    releaseOnStop: options.lb.releaseOnStop,
  });
  controller.on("log", (message: string) => say({ event: "log", profile, message }, `[${profile}] ${message}`));
  controller.on("assigned", (key: string, ingress: IngressEntry[]) => {
    const ips = ingress.map((i) => i.ip).join(", ");
    say({ event: "service", profile, service: key, ingress }, `[${profile}] service ${key} → ${ips}`);
  });
  await controller.start();
  return controller;
}
