import { EventEmitter } from "node:events";
import { ProfileTunnel, type ProfileTunnelDeps, type ProfileTunnelOptions, type TunnelSnapshot } from "./profile-tunnel.js";

/** Several profiles at once; CIDR overlap between them surfaces as conflicts from the registrar. */
export class TunnelManager extends EventEmitter {
  private readonly tunnels = new Map<string, ProfileTunnel>();

  constructor(private readonly deps: ProfileTunnelDeps) {
    super();
  }

  async start(options: ProfileTunnelOptions): Promise<ProfileTunnel> {
    const existing = this.tunnels.get(options.profile);
    if (existing) return existing;
    const tunnel = new ProfileTunnel(this.deps, options);
    tunnel.on("change", (snapshot: TunnelSnapshot) => this.emit("change", snapshot));
    tunnel.on("log", (line: string) => this.emit("log", options.profile, line));
    this.tunnels.set(options.profile, tunnel);
    try {
      await tunnel.start();
    } catch (error) {
      this.tunnels.delete(options.profile);
      // A tunnel that never started is not reported as "stopped"; its failure is the caller's to report.
      tunnel.removeAllListeners();
      await tunnel.stop().catch(() => undefined);
      throw error;
    }
    return tunnel;
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

  snapshots(): TunnelSnapshot[] {
    return [...this.tunnels.values()].map((t) => t.snapshot());
  }
}
