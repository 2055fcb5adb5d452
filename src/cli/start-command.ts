import type { Engine } from "../engine/engine.js";
import type { AccessSnapshot } from "../engine/access/cluster-access.js";
import type { ModeChoice } from "../engine/cluster/access-mode.js";
import {
  type LoadBalancerSettings,
  StartCancelledError,
  TunnelSettingsError,
} from "../engine/tunnels/profile-tunnel.js";
import { ProfileMissingError } from "../engine/cluster/profile-config.js";
import { CliError, oneLine } from "./cli-errors.js";
import { NameAnnouncer } from "./name-lines.js";

export interface StartOptions {
  readonly profiles: readonly string[];
  readonly mode?: ModeChoice;
  /** Cluster names on this machine (default on). */
  readonly names?: boolean;
  /** Forward mode: node ports on 127.0.0.1:<nodePort> (default on; --no-node-ports). */
  readonly nodePorts?: boolean;
  /** Ingress hosts and Gateway hostnames on this machine (default on). */
  readonly ingress?: boolean;
  readonly json: boolean;
  readonly pollIntervalMs: number;
  readonly lb: LoadBalancerSettings;
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

/** Foreground tunnel (docs/architecture.md, "CLI"): runs until SIGINT or SIGTERM, then removes everything it added. */
export async function runStart(engine: Engine, options: StartOptions): Promise<void> {
  const say = (event: Record<string, unknown>, text: string) => {
    process.stdout.write(
      options.json ? `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n` : `${text}\n`,
    );
  };
  engine.tunnels.on("log", (profile: string, message: string) =>
    say({ event: "log", profile, message }, `[${profile}] ${message}`),
  );
  const lastPhase = new Map<string, string>();
  const announcers = new Map<string, NameAnnouncer>();
  engine.tunnels.on("change", (snapshot: AccessSnapshot) => {
    if (options.json) say({ event: "state", ...snapshot }, "");
    else if (lastPhase.get(snapshot.profile) !== snapshot.phase)
      say({}, `[${snapshot.profile}] ${snapshot.phase}${snapshot.message ? `: ${snapshot.message}` : ""}`);
    lastPhase.set(snapshot.profile, snapshot.phase);
    // Ingress and Gateway names as they appear, like the Services' external IPs (the JSON state carries them).
    if (!options.json && (snapshot.ingresses || snapshot.gateways)) {
      const announcer = announcers.get(snapshot.profile) ?? new NameAnnouncer();
      announcers.set(snapshot.profile, announcer);
      for (const line of announcer.update([...(snapshot.ingresses ?? []), ...(snapshot.gateways ?? [])]))
        say({}, `[${snapshot.profile}] ${line}`);
    }
  });
  // Listen before the first route goes in, so a signal during start-up still cleans up, and cancels what is in flight.
  const stopSignal = waitForStopSignal();
  const cancel = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  void stopSignal.then((signal) => {
    signalled = signal;
    cancel.abort();
  });
  let startError: unknown;
  for (const profile of options.profiles) {
    try {
      await engine.tunnels.start(
        profile,
        {
          lb: options.lb,
          pollIntervalMs: options.pollIntervalMs,
          ...(options.mode ? { mode: options.mode } : {}),
          ...(options.names === false ? { names: false } : {}),
          ...(options.ingress === false ? { ingress: false } : {}),
          ...(options.nodePorts === false ? { nodePorts: false } : {}),
        },
        {
          assigned: (service, externalIps) =>
            say(
              { event: "service", profile, service, externalIps },
              `[${profile}] service ${service} → ${externalIps.map((i) => i.ip).join(", ")}`,
            ),
        },
        cancel.signal,
      );
    } catch (error) {
      if (error instanceof StartCancelledError) break;
      startError =
        error instanceof TunnelSettingsError || error instanceof ProfileMissingError
          ? new CliError(error.message, 2)
          : new Error(`profile "${profile}": ${oneLine(error)}`);
      break;
    }
  }
  if (startError === undefined) {
    if (signalled === null)
      say(
        { event: "ready", profiles: options.profiles },
        "Tunnel running. Press Ctrl+C to stop it and take back everything it set.",
      );
    const signal = await stopSignal;
    say({ event: "stopping", signal }, `${signal}: taking back what the tunnel set...`);
  }
  await engine.tunnels.stopAll();
  if (startError !== undefined) throw startError;
  say({ event: "stopped" }, "Stopped; everything the tunnel set is taken back.");
}
