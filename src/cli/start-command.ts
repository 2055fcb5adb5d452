import type { Cidr } from "../shared/cidr.js";
import type { Engine } from "../engine/engine.js";
import type { TunnelSnapshot } from "../engine/tunnel/profile-tunnel.js";
import { oneLine } from "./cli-errors.js";

export interface StartOptions {
  readonly profiles: readonly string[];
  readonly lbPool: readonly Cidr[];
  readonly json: boolean;
  readonly pollIntervalMs: number;
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

/** Foreground tunnel (DESIGN §3.3): runs until SIGINT or SIGTERM, then removes everything it added. */
export async function runStart(engine: Engine, options: StartOptions): Promise<void> {
  const say = (event: Record<string, unknown>, text: string) => {
    process.stdout.write(options.json ? `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n` : `${text}\n`);
  };
  engine.manager.on("log", (profile: string, message: string) => say({ event: "log", profile, message }, `[${profile}] ${message}`));
  let lastPhase = new Map<string, string>();
  engine.manager.on("change", (snapshot: TunnelSnapshot) => {
    if (options.json) say({ event: "state", ...snapshot }, "");
    else if (lastPhase.get(snapshot.profile) !== snapshot.phase) say({}, `[${snapshot.profile}] ${snapshot.phase}${snapshot.message ? `: ${snapshot.message}` : ""}`);
    lastPhase = new Map(lastPhase).set(snapshot.profile, snapshot.phase);
  });
  // Listen before the first route goes in, so a signal during start-up still cleans up.
  const stopSignal = waitForStopSignal();
  let startError: unknown;
  for (const profile of options.profiles) {
    try {
      await engine.manager.start({ profile, lbPool: options.lbPool, pollIntervalMs: options.pollIntervalMs });
    } catch (error) {
      startError = new Error(`profile "${profile}": ${oneLine(error)}`);
      break;
    }
  }
  if (startError === undefined) {
    say({ event: "ready", profiles: options.profiles }, "Tunnel running. Press Ctrl+C to stop and remove its routes.");
    const signal = await stopSignal;
    say({ event: "stopping", signal }, `${signal}: removing routes...`);
  }
  await engine.manager.stopAll();
  if (startError !== undefined) throw startError;
  say({ event: "stopped" }, "Stopped; routes and registry entries removed.");
}
