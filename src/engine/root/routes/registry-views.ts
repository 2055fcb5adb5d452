import type { IpFamily } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { type TunnelEntryJson, entryFromJson, sameRoute } from "../../../shared/tunnel-entry.js";
import { isTunnelProcessAlive } from "../../registry/process-liveness.js";
import type { RegistryView } from "./conflicts.js";
import type { RouteTable } from "./route-table.js";

/** The registry's entries, each with whether its tunnel still runs (pid and start time). */
export async function registryViews(entries: readonly TunnelEntryJson[]): Promise<RegistryView[]> {
  return Promise.all(
    entries.map(async (json) => {
      const entry = entryFromJson(json);
      return { entry, alive: await isTunnelProcessAlive(entry.pid, entry.pidStartTime) };
    }),
  );
}

/** The kernel's table, read once per family a batch needs. */
export async function kernelTables(
  table: RouteTable,
  families: Iterable<IpFamily>,
): Promise<Map<IpFamily, KernelRoute[]>> {
  const tables = new Map<IpFamily, KernelRoute[]>();
  for (const family of new Set(families)) tables.set(family, await table.list(family));
  return tables;
}

/**
 * The same JSON object, compared by what minikube keeps (Route, MachineName, Pid): our extra fields may have been
 * dropped.
 */
export function sameEntry(a: TunnelEntryJson, b: TunnelEntryJson): boolean {
  const x = entryFromJson(a);
  const y = entryFromJson(b);
  return sameRoute(x, y) && x.profile === y.profile && x.pid === y.pid;
}
