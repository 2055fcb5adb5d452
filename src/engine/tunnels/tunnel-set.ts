import { EventEmitter } from "node:events";
import type { AccessSnapshot } from "../access/cluster-access.js";
import {
  ProfileTunnel,
  type ProfileTunnelDeps,
  type ProfileTunnelHooks,
  type TunnelSettings,
} from "./profile-tunnel.js";

export type TunnelSetHooks = Omit<ProfileTunnelHooks, "log" | "change">;

/**
 * The profile tunnels of one process (the CLI's foreground run, or the tray
 * app), at most one per profile. CIDR overlap between them surfaces as
 * conflicts from the registrar. Emits `change` (AccessSnapshot) and `log`
 * (profile, line).
 */
export class TunnelSet extends EventEmitter {
  private readonly tunnels = new Map<string, ProfileTunnel>();

  constructor(private readonly deps: ProfileTunnelDeps) {
    super();
  }

  /** Starts the profile's tunnel, or returns the one already running or starting. */
  async start(
    profile: string,
    settings: TunnelSettings,
    hooks: TunnelSetHooks = {},
    signal?: AbortSignal,
  ): Promise<ProfileTunnel> {
    const existing = this.tunnels.get(profile);
    if (existing) return existing;
    const tunnel = await ProfileTunnel.create(this.deps, profile, settings, {
      ...hooks,
      log: (line) => this.emit("log", profile, line),
      change: (snapshot) => this.emit("change", snapshot),
    });
    if (this.tunnels.has(profile)) return this.tunnels.get(profile)!;
    // Listed while it starts, so its "starting" state is shown.
    this.tunnels.set(profile, tunnel);
    try {
      await tunnel.start(signal);
    } catch (error) {
      this.tunnels.delete(profile);
      throw error;
    }
    return tunnel;
  }

  get(profile: string): ProfileTunnel | undefined {
    return this.tunnels.get(profile);
  }

  profiles(): string[] {
    return [...this.tunnels.keys()];
  }

  async stop(profile: string): Promise<void> {
    const tunnel = this.tunnels.get(profile);
    if (!tunnel) return;
    try {
      await tunnel.stop();
    } finally {
      this.tunnels.delete(profile);
    }
  }

  /** Stops every tunnel, each independently; rejects with every failure after all have been tried. */
  async stopAll(): Promise<void> {
    const results = await Promise.allSettled([...this.tunnels.keys()].map((p) => this.stop(p)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join("; "));
  }

  async recheckAll(): Promise<void> {
    await Promise.allSettled([...this.tunnels.values()].map((t) => t.recheck()));
  }

  snapshots(): AccessSnapshot[] {
    return [...this.tunnels.values()].map((t) => t.snapshot());
  }
}
