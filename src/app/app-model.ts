import { EventEmitter } from "node:events";
import type { AppState } from "../shared/app-state.js";
import { assertProfileName } from "../shared/profile-name.js";
import { listProfileNames } from "../engine/cluster/profile-config.js";
import type { Engine } from "../engine/engine.js";
import type { ManagedService } from "../engine/lb/lb-service.js";
import type { CleanupReport } from "../engine/root/index.js";
import { buildAppState } from "./app-state-builder.js";
import {
  type KubeClientFor,
  kubeClientsFrom,
  releaseExternalIpsOfGoneTunnels,
} from "../engine/tunnels/stale-external-ips.js";
import { removeUdpRelaysOfGoneTunnels } from "../engine/tunnels/stale-udp-relays.js";
import type { LoadBalancerSettings } from "../engine/tunnels/profile-tunnel.js";
import type { TunnelSet } from "../engine/tunnels/tunnel-set.js";
import type { ModeChoice } from "../engine/cluster/access-mode.js";
import { type AppNotification, notificationsBetween } from "./state-notifications.js";

export interface AppModelOptions {
  /** Its `root` is the helper (reached at first need) or this process as root; closed on quit. */
  readonly engine: Engine;
  /** Read at each Start, so Preferences apply to the next tunnel. */
  readonly loadBalancer: () => LoadBalancerSettings;
  /** How each profile is reached (Preferences); "auto" when not given. */
  readonly accessMode?: (profile: string) => ModeChoice;
  /** Cluster names on this machine (Preferences); on when not given. */
  readonly names?: () => boolean;
  /** Forward mode's node ports on 127.0.0.1 (Preferences); on when not given. */
  readonly nodePorts?: () => boolean;
  readonly pollIntervalMs?: number;
  readonly logLimit?: number;
  /** State pushes are coalesced: a burst of 10,000 Service events becomes a few pushes. */
  readonly pushIntervalMs?: number;
  readonly platform?: NodeJS.Platform;
  /** How to reach a profile's cluster when releasing IPs a dead tunnel left; the profile's kube context by default. */
  readonly kubeClientFor?: KubeClientFor;
}

export interface CleanupSummary {
  readonly removed: number;
  /** External IPs taken back from Services whose tunnel died without stopping. */
  readonly released: number;
  readonly failures: string[];
}

/**
 * What the tray and the window show and do: the engine's tunnel set, the
 * AppState pushed to the UI, a bounded log, and the notifications worth a
 * desktop popup. Emits `state` (AppState), `notification` (AppNotification)
 * and `log` (line). No Electron here, so all of it is tested under Node.
 */
export class AppModel extends EventEmitter {
  private readonly profileErrors = new Map<string, string>();
  private readonly busyProfiles = new Set<string>();
  /** Starts in flight, so Quit can cancel them and wait until each has cleaned up. */
  private readonly starting = new Map<string, { cancel: AbortController; done: Promise<void> }>();
  private readonly logLines: string[] = [];
  private knownProfiles: string[] = [];
  /** Lasts until fixed (unreadable preferences, say). */
  private problem: string | null = null;
  /** The last user action's failure; the next action clears it. */
  private actionError: string | null = null;
  private lastPushed: AppState;
  private closed = false;
  private profileTimer: NodeJS.Timeout | undefined;
  private pushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AppModelOptions) {
    super();
    this.lastPushed = this.state();
    options.engine.tunnels.on("change", () => this.schedulePush());
    options.engine.tunnels.on("log", (profile: string, line: string) => this.log(`[${profile}] ${line}`));
  }

  async refreshProfiles(): Promise<string[]> {
    const found = await listProfileNames(this.options.engine.miniPath);
    if (found.join("\n") !== this.knownProfiles.join("\n")) {
      this.knownProfiles = found;
      this.schedulePush();
    }
    return this.knownProfiles;
  }

  /** `minikube start -p new` while the app runs: the new profile shows up within `intervalMs`. */
  watchProfiles(intervalMs = 10_000): void {
    clearInterval(this.profileTimer);
    this.profileTimer = setInterval(() => void this.refreshProfiles().catch(() => undefined), intervalMs);
    this.profileTimer.unref();
  }

  async start(profile: string): Promise<void> {
    assertProfileName(profile);
    if (this.closed) throw new Error("the app is quitting");
    if (this.tunnels.get(profile) || this.busyProfiles.has(profile)) return;
    this.actionError = null;
    this.busyProfiles.add(profile);
    this.profileErrors.delete(profile);
    this.schedulePush();
    const lb = this.options.loadBalancer();
    const cancel = new AbortController();
    let settled!: () => void;
    this.starting.set(profile, { cancel, done: new Promise<void>((r) => (settled = r)) });
    try {
      await this.tunnels.start(
        profile,
        {
          lb,
          mode: this.options.accessMode?.(profile) ?? "auto",
          names: this.options.names?.() ?? true,
          nodePorts: this.options.nodePorts?.() ?? true,
          ...(this.options.pollIntervalMs ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
        },
        {
          assigned: (service, externalIps) =>
            this.log(`[${profile}] ${service} → ${externalIps.map((i) => i.ip).join(", ")}`),
          servicesChanged: () => this.schedulePush(),
        },
        cancel.signal,
      );
      this.log(`[${profile}] tunnel started`);
    } catch (error) {
      const message = (error as Error).message;
      this.profileErrors.set(profile, `Start failed: ${message}`);
      this.log(`[${profile}] start failed: ${message}`);
      throw error;
    } finally {
      this.starting.delete(profile);
      settled();
      this.busyProfiles.delete(profile);
      this.schedulePush();
    }
  }

  /** A new way to reach the profile: a tunnel that runs is stopped and started again in it. */
  async restartIfRunning(profile: string): Promise<void> {
    assertProfileName(profile);
    if (!this.tunnels.get(profile)) return this.schedulePush();
    await this.stop(profile);
    await this.start(profile);
  }

  async stop(profile: string): Promise<void> {
    assertProfileName(profile);
    if (!this.tunnels.get(profile)) return;
    this.actionError = null;
    this.busyProfiles.add(profile);
    this.schedulePush();
    try {
      await this.tunnels.stop(profile);
      this.log(`[${profile}] tunnel stopped; what it set is taken back`);
    } finally {
      this.busyProfiles.delete(profile);
      this.schedulePush();
    }
  }

  /** Every tunnel stops independently; all failures are reported together after all were tried. */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled(this.tunnels.profiles().map((p) => this.stop(p)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join("; "));
  }

  /**
   * Quit: cancel the Starts in flight and wait until each has taken down what
   * it had set up, stop every tunnel, then let the helper go (its disconnect
   * cleanup is the backstop). main.ts exits as soon as this resolves.
   */
  async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.profileTimer);
    try {
      const inFlight = [...this.starting.values()];
      for (const start of inFlight) start.cancel.abort();
      await Promise.all(inFlight.map((s) => s.done));
      await this.stopAll();
      await this.tunnels.stopAll();
    } finally {
      clearTimeout(this.pushTimer);
      await this.options.engine.root.close();
    }
  }

  async cleanup(): Promise<CleanupSummary> {
    this.actionError = null;
    let report: CleanupReport;
    try {
      report = await this.options.engine.root.cleanup();
    } catch (error) {
      this.notify({ kind: "cleanup-failed", title: "Cleanup failed", body: (error as Error).message });
      throw error;
    }
    for (const r of report.removed)
      this.log(`cleanup: removed ${r.destination} via ${r.gateway} (${r.writer} pid ${r.pid}, profile ${r.profile})`);
    const externalIps = await releaseExternalIpsOfGoneTunnels(
      this.options.engine.registry,
      this.knownProfiles,
      new Set(this.tunnels.profiles()),
      this.options.kubeClientFor ?? kubeClientsFrom(this.options.engine.kubeConfig),
      this.options.engine.locks,
    );
    for (const i of externalIps)
      for (const key of i.released) this.log(`cleanup: released the external IP of ${key} (profile ${i.profile})`);
    const udpRelays = await removeUdpRelaysOfGoneTunnels(
      this.options.engine.miniPath,
      this.knownProfiles,
      new Set(this.tunnels.profiles()),
      this.options.engine.containers,
      this.options.engine.locks,
    );
    for (const r of udpRelays)
      for (const name of r.removed) this.log(`cleanup: removed the UDP relay ${name} (profile ${r.profile})`);
    const failures = [
      ...report.failures.map(
        (f) => `${f.destination} via ${f.gateway} (profile ${f.profile}, pid ${f.pid}): ${f.error}`,
      ),
      ...(report.refused ?? []).map(
        (f) => `${f.destination} via ${f.gateway} (profile ${f.profile}, pid ${f.pid}) left in place: ${f.error}`,
      ),
      ...(report.nameFailures ?? []).map((f) => `names: ${f}`),
      ...externalIps.flatMap((i) => i.failures.map((f) => `external IP of ${f} (profile ${i.profile})`)),
      ...udpRelays.flatMap((r) => r.failures.map((f) => `UDP relay ${f} (profile ${r.profile})`)),
    ];
    for (const f of failures) this.log(`cleanup failed: ${f}`);
    if (failures.length > 0)
      this.notify({
        kind: "cleanup-failed",
        title: "Cleanup could not remove every stale route",
        body: failures.join("\n"),
      });
    return {
      removed: report.removed.length,
      released: externalIps.reduce((n, i) => n + i.released.length, 0),
      failures,
    };
  }

  /** After sleep or a network change the node may have moved or the routes gone: look again now. */
  async recheck(): Promise<void> {
    this.log("re-checking routes (resume or network change)");
    await this.tunnels.recheckAll();
  }

  setProblem(problem: string | null): void {
    this.problem = problem;
    this.schedulePush();
  }

  reportActionError(message: string): void {
    this.actionError = message;
    this.log(message);
    this.schedulePush();
  }

  runningProfiles(): string[] {
    return this.tunnels.profiles();
  }

  state(): AppState {
    const services = new Map<string, readonly ManagedService[]>();
    const lbModes = new Map<string, "clusterip" | "pool" | "forward" | "off">();
    for (const profile of this.tunnels.profiles()) {
      const tunnel = this.tunnels.get(profile)!;
      if (tunnel.controller) services.set(profile, tunnel.controller.services());
      lbModes.set(profile, tunnel.lbMode);
    }
    return buildAppState({
      knownProfiles: this.knownProfiles,
      snapshots: this.tunnels.snapshots(),
      services,
      lbModes,
      modeChoices: new Map(this.knownProfiles.map((p) => [p, this.options.accessMode?.(p) ?? "auto"])),
      profileErrors: this.profileErrors,
      error: this.actionError ?? this.problem,
      busy: this.busyProfiles.size > 0,
      ...(this.options.platform ? { platform: this.options.platform } : {}),
    });
  }

  logs(limit: number): string[] {
    return this.logLines.slice(-limit);
  }

  private get tunnels(): TunnelSet {
    return this.options.engine.tunnels;
  }

  private log(line: string): void {
    const stamped = `${new Date().toISOString()} ${line}`;
    this.logLines.push(stamped);
    if (this.logLines.length > (this.options.logLimit ?? 2000))
      this.logLines.splice(0, this.logLines.length - (this.options.logLimit ?? 2000));
    this.emit("log", stamped);
  }

  private notify(note: AppNotification): void {
    this.log(`${note.title}: ${note.body}`);
    this.emit("notification", note);
  }

  private schedulePush(): void {
    if (this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      const next = this.state();
      for (const note of notificationsBetween(this.lastPushed, next)) this.notify(note);
      this.lastPushed = next;
      this.emit("state", next);
    }, this.options.pushIntervalMs ?? 100);
  }
}
