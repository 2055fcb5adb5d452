import { OWNER_ID, entryFromJson, type TunnelEntry } from "../../shared/tunnel-entry.js";
import { type RouteTable, findRoute } from "../routes/route-table.js";
import { isTunnelProcessAlive } from "./process-liveness.js";
import type { RegistryFile } from "./registry-file.js";

export interface CleanedRoute {
  readonly destination: string;
  readonly gateway: string;
  readonly profile: string;
  readonly pid: number;
  readonly writer: "minikube-tunnel" | "minikube";
  /** False when the route was already gone from the table and only the entry was dropped. */
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
}

function describe(entry: TunnelEntry) {
  return { destination: entry.destination.text, gateway: entry.gateway, profile: entry.profile, pid: entry.pid };
}

/**
 * DESIGN §3.2: an entry goes only when its process is dead, and only after its
 * route is gone from the table. One failure does not stop the others.
 */
export async function cleanupStaleTunnels(table: RouteTable, registry: RegistryFile): Promise<CleanupReport> {
  const removed: CleanedRoute[] = [];
  const failures: CleanupFailure[] = [];
  let skippedAlive = 0;
  await registry.update(async (entries) => {
    const keep = [];
    for (const json of entries) {
      const entry = entryFromJson(json);
      if (await isTunnelProcessAlive(entry.pid, entry.pidStartTime)) {
        skippedAlive++;
        keep.push(json);
        continue;
      }
      try {
        const present = findRoute(await table.list(entry.destination.family), entry.destination, entry.gateway) !== undefined;
        if (present) await table.remove(entry.destination, entry.gateway);
        removed.push({ ...describe(entry), writer: entry.owner === OWNER_ID ? "minikube-tunnel" : "minikube", routeRemoved: present });
      } catch (error) {
        failures.push({ ...describe(entry), error: (error as Error).message });
        keep.push(json);
      }
    }
    return { entries: keep.length === entries.length ? entries : keep, result: undefined };
  });
  return { removed, failures, skippedAlive };
}
