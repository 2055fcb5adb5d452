import { OWNER_ID, type TunnelEntry, type TunnelEntryJson, sameRoute } from "../../../shared/tunnel-entry.js";
import { type RouteChange, type RouteTable, findRoute } from "./route-table.js";
import type { RegistryFile } from "../../registry/registry-file.js";
import { kernelTables, registryViews, sameEntry } from "./route-transaction.js";

export interface CleanedRoute {
  readonly destination: string;
  readonly gateway: string;
  readonly profile: string;
  readonly pid: number;
  readonly writer: "minikube-tunnel" | "minikube";
  /** False when only the entry was dropped: the route was already gone, or a live tunnel still holds it. */
  readonly routeRemoved: boolean;
}

export interface CleanupFailure {
  readonly destination: string;
  readonly gateway: string;
  readonly profile: string;
  readonly pid: number;
  readonly error: string;
}

export interface CleanupReport {
  readonly removed: CleanedRoute[];
  readonly failures: CleanupFailure[];
  readonly skippedAlive: number;
  /** Cluster-name settings (hosts blocks, resolver settings) that a dead tunnel left, taken back. */
  readonly names?: string[];
}

function describe(entry: TunnelEntry) {
  return { destination: entry.destination.text, gateway: entry.gateway, profile: entry.profile, pid: entry.pid, writer: entry.owner === OWNER_ID ? ("minikube-tunnel" as const) : ("minikube" as const) };
}

/**
 * Removes what dead tunnels left (ours or minikube's), in one batch: an
 * entry goes only when its process is dead, and only after its route is gone
 * from the table. A route that a live entry also holds is never removed: that
 * tunnel still uses it. One failure does not stop the others.
 */
export async function cleanupStaleTunnels(table: RouteTable, registry: RegistryFile): Promise<CleanupReport> {
  return registry.locked(async (tx) => {
    const views = await registryViews(await tx.read());
    const dead = views.filter((v) => !v.alive).map((v) => v.entry);
    const live = views.filter((v) => v.alive).map((v) => v.entry);
    if (dead.length === 0) return { removed: [], failures: [], skippedAlive: live.length };
    const kernel = await kernelTables(table, dead.map((e) => e.destination.family));
    const removed: CleanedRoute[] = [];
    const drop: TunnelEntryJson[] = [];
    const changes: RouteChange[] = [];
    const waiting: TunnelEntry[] = [];
    for (const entry of dead) {
      const inKernel = findRoute(kernel.get(entry.destination.family) ?? [], entry.destination, entry.gateway) !== undefined;
      if (!inKernel || live.some((l) => sameRoute(l, entry))) {
        removed.push({ ...describe(entry), routeRemoved: false });
        drop.push(entry.json);
        continue;
      }
      waiting.push(entry);
      // Several dead entries may name one route (minikube keeps duplicates): remove it once.
      if (!changes.some((c) => sameRoute(c, entry))) changes.push({ op: "remove", destination: entry.destination, gateway: entry.gateway });
    }
    const results = await table.apply(changes);
    const failures: CleanupFailure[] = [];
    const credited = new Set<RouteChange>();
    for (const entry of waiting) {
      const result = results.find((r) => sameRoute(r.change, entry))!;
      if (result.ok) {
        removed.push({ ...describe(entry), routeRemoved: !credited.has(result.change) });
        credited.add(result.change);
        drop.push(entry.json);
      } else {
        const { writer: _writer, ...where } = describe(entry);
        failures.push({ ...where, error: result.error ?? "route was not removed" });
      }
    }
    if (drop.length > 0) await tx.update((entries) => ({ entries: entries.filter((e) => !drop.some((d) => sameEntry(d, e))), result: undefined }));
    return { removed, failures, skippedAlive: live.length };
  });
}
