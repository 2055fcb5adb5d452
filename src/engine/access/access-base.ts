import { EventEmitter } from "node:events";
import { type LockHolder, type TunnelLocks, describeHolder } from "../registry/tunnel-lock.js";
import type { HeldLock } from "../system/file-lock.js";
import type {
  AccessMode,
  AccessPhase,
  AccessSnapshot,
  ClusterAccess,
  ControllerPlan,
  ServicesView,
} from "./cluster-access.js";
import type { IngressNames } from "../ingress/name-types.js";
import type { ProfileNames } from "./names/profile-names.js";
import type { ProbeResult } from "./reachability-probe.js";

/** What every access is made with: its profile, minikube's tunnel lock, and how it sets cluster names. */
export interface AccessBasics {
  readonly profile: string;
  /** minikube's per-profile tunnel lock; null in tests that do not exercise it. */
  readonly locks: TunnelLocks | null;
  /** The profile's names, told when the access's state changes so the snapshot shows them. */
  readonly names: (changed: () => void) => ProfileNames;
}

/**
 * What every access mode shares (docs/architecture.md, "Access modes"): a
 * phase and a message, minikube's tunnel lock held while it runs, the
 * profile's cluster names, the reachability probe's last result, and change
 * events sent only when something a user could see changed. A mode adds how
 * it reaches the cluster (`start`, `recheck`, `teardown`, `details`) and how
 * it follows the controller's Services (`servicesChanged`).
 */
export abstract class AccessBase extends EventEmitter implements ClusterAccess {
  abstract readonly mode: AccessMode;
  readonly profile: string;
  protected phase: AccessPhase = "starting";
  protected message: string | undefined;
  protected probeResult: ProbeResult | null = null;
  protected readonly names: ProfileNames;
  private lock: HeldLock | null = null;
  private lastEmitted = "";

  protected constructor(protected readonly basics: AccessBasics) {
    super();
    this.profile = basics.profile;
    this.names = basics.names(() => this.emitChange());
  }

  abstract start(): Promise<void>;
  abstract recheck(): Promise<void>;
  /** What this mode set up, taken down; rejects naming each failure after trying all of it. */
  protected abstract teardown(): Promise<void>;
  /** This mode's part of the snapshot: host, node, routes or link and forwards. */
  protected abstract details(): Omit<AccessSnapshot, "profile" | "mode" | "phase" | "probe" | "names">;

  /** The controller's Services changed; a mode that forwards or names them follows. */
  servicesChanged(_view: ServicesView): void {}

  /** The cluster's Ingress and Gateway names changed (ProfileTunnel's IngressDiscovery); each mode places them. */
  ingressChanged(_names: IngressNames): void {}

  /** This mode's Ingress and Gateway names, as the snapshot shows them; none until the mode follows them. */
  protected ingressDetails(): Pick<AccessSnapshot, "ingresses" | "gateways"> {
    return {};
  }

  /**
   * How the LoadBalancer controller runs with this access: the mode's own pool (forward mode's loopback addresses), or
   * the user's.
   */
  abstract controllerPlan(): ControllerPlan;

  /** Names first (they point at what the access is about to take down), then the mode's own parts, then the lock. */
  async stop(): Promise<void> {
    const failures: string[] = [];
    await this.names.clear().catch((e: Error) => failures.push(e.message));
    try {
      await this.teardown();
    } catch (error) {
      failures.push((error as Error).message);
    }
    await this.lock?.release().catch(() => undefined);
    this.lock = null;
    if (failures.length > 0) throw new Error(failures.join("; "));
  }

  snapshot(): AccessSnapshot {
    const details = this.details();
    return {
      profile: this.profile,
      mode: this.mode,
      phase: this.phase,
      probe: this.probeResult,
      ...details,
      ...(details.message === undefined && this.message !== undefined ? { message: this.message } : {}),
      names: this.names.status(),
      ...this.ingressDetails(),
    };
  }

  /**
   * The tunnel lock in minikube's profile folder, as `minikube tunnel` takes it; false (and phase "blocked") while
   * someone else holds it.
   */
  protected async holdLock(doing: string, idle: string, first = false): Promise<boolean> {
    if (this.lock || !this.basics.locks) return true;
    const result = await this.basics.locks.acquire(this.profile);
    if ("release" in result) {
      this.lock = result;
      if (this.phase === "blocked") this.log("the profile's tunnel lock is free again: taking over");
      return true;
    }
    const why = describeHolder(result as LockHolder);
    if (this.phase !== "blocked" || first) this.log(`${why}; not ${doing} while it runs`);
    this.phase = "blocked";
    this.message = `${why}; this tunnel waits and ${idle}`;
    this.emitChange();
    return false;
  }

  /** The lock this access holds, for notes another process reads (forward mode's link). */
  protected get heldLock(): HeldLock | null {
    return this.lock;
  }

  /** A probe's result: logged when it turns, shown in the snapshot. */
  protected recordProbe(result: ProbeResult, how = ""): void {
    if (this.probeResult?.ok !== result.ok)
      this.log(
        result.ok
          ? `probe of ${result.target}${how} answers`
          : `probe of ${result.target}${how} failed: ${result.error}`,
      );
    this.probeResult = result;
    this.emitChange();
  }

  protected log(line: string): void {
    this.emit("log", line);
  }

  /** Only real changes go out: a healthy tunnel's heartbeat must not redraw the tray every few seconds. */
  protected emitChange(): void {
    const snapshot = this.snapshot();
    const key = JSON.stringify({
      ...snapshot,
      probe: snapshot.probe
        ? { ok: snapshot.probe.ok, target: snapshot.probe.target, error: snapshot.probe.error }
        : null,
    });
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    this.emit("change", snapshot);
  }
}
