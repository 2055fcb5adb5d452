import { OWNER_ID, type TunnelEntry, type TunnelEntryJson, sameRoute } from "../../../shared/tunnel-entry.js";
import type { KernelRoute } from "../../../shared/routes.js";
import type { RegistryFile } from "../../registry/registry-file.js";
import { type Allowances, NO_ALLOWANCES } from "../policy/allowances.js";
import { checkGateway, checkRouteCidr, pathRefusal } from "../policy/route-policy.js";
import { type HostAddress, hostAddressRefusal, hostAddresses } from "../policy/host-addresses.js";
import type { CleanedRoute, CleanupFailure, CleanupReport, RouteRef } from "../root.js";
import { type RouteChange, type RouteTable, findRoute } from "./route-table.js";
import { kernelTables, registryViews, sameEntry } from "./registry-views.js";

function describe(entry: TunnelEntry) {
  return {
    destination: entry.destination.text,
    gateway: entry.gateway,
    profile: entry.profile,
    pid: entry.pid,
    writer: entry.owner === OWNER_ID ? ("minikube-tunnel" as const) : ("minikube" as const),
  };
}

function failure(entry: TunnelEntry, error: string): CleanupFailure {
  const { writer: _writer, ...where } = describe(entry);
  return { ...where, error };
}

export interface CleanupPolicy {
  readonly allowances: Allowances;
  /**
   * Root's own operator asked (`sudo mktunnel cleanup`): dead entries of the file are taken at their word, within the
   * rules. A helper's user gets root's records only.
   */
  readonly operator: boolean;
  /** Only root's records: dead entries of the file are not looked at (a session starting takes back what a crash left). */
  readonly recordedOnly?: boolean;
  /** Routes root recorded adding, whose writer died (own-routes.ts): ours, whatever the user's file says. */
  readonly recorded?: readonly RouteRef[];
}

function routeWhere(route: RouteRef) {
  return { destination: route.destination.text, gateway: route.gateway, profile: route.profile, pid: 0 };
}

/** Why root would not remove a route its own record names: the fixed rules an add of it passed. */
function recordRefusal(route: RouteRef, allowances: Allowances): string | null {
  try {
    checkRouteCidr(route.destination, allowances);
    checkGateway(route.gateway);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why root would not remove this route: the rules an add of it would have to pass. */
async function removalRefusal(
  entry: TunnelEntry,
  route: KernelRoute,
  kernel: readonly KernelRoute[],
  allowances: Allowances,
  host: readonly HostAddress[],
): Promise<string | null> {
  try {
    checkRouteCidr(entry.destination, allowances);
    checkGateway(entry.gateway);
  } catch (error) {
    return (error as Error).message;
  }
  const local = hostAddressRefusal(entry.destination, host);
  if (local) return local;
  return pathRefusal(entry.gateway, kernel, { via: route, allowances });
}

/**
 * Removes what dead tunnels left (ours or minikube's), in one batch: an
 * entry goes only when its process is dead, and only after its route is gone
 * from the table. A route that a live entry also holds is never removed: that
 * tunnel still uses it. A route root would not have added (the default
 * route, a VPN's network, anything the fixed rules refuse) is never removed
 * for an entry of the user's file, which anyone with the user's rights can
 * forge: it is reported and left, with its entry. Routes root recorded
 * adding itself go whatever the file says. One failure does not stop the others.
 */
export async function cleanupStaleTunnels(
  table: RouteTable,
  registry: RegistryFile,
  policy: CleanupPolicy = { allowances: NO_ALLOWANCES, operator: true },
): Promise<CleanupReport & { readonly recordedKept: readonly RouteRef[] }> {
  return registry.locked(async (tx) => {
    const views = await registryViews(await tx.read());
    const dead = policy.recordedOnly ? [] : views.filter((v) => !v.alive).map((v) => v.entry);
    const live = views.filter((v) => v.alive).map((v) => v.entry);
    // A recorded route a live tunnel holds stays, and so does its record: the same client may come back for it.
    const recordedKept = (policy.recorded ?? []).filter((r) => live.some((l) => sameRoute(l, r)));
    const recorded = (policy.recorded ?? []).filter((r) => !recordedKept.includes(r));
    if (dead.length === 0 && recorded.length === 0)
      return { removed: [], failures: [], refused: [], skippedAlive: live.length, recordedKept };
    const kernel = await kernelTables(
      table,
      [...dead, ...recorded].map((e) => e.destination.family),
    );
    const removed: CleanedRoute[] = [];
    const refused: CleanupFailure[] = [];
    const drop: TunnelEntryJson[] = [];
    const changes: RouteChange[] = [];
    const waiting: TunnelEntry[] = [];
    let host: HostAddress[] | undefined;
    const ourRecord = (entry: TunnelEntry) => recorded.some((r) => sameRoute(r, entry));
    for (const route of recorded) {
      // A record is root's own, but on Windows nothing tells root's file from one a user planted (Node reports uid 0
      // for every file): a recorded route is removed only if root would have routed it, so no record takes down a
      // default route or a public network's.
      const why = recordRefusal(route, policy.allowances);
      if (why) {
        refused.push({ ...routeWhere(route), error: `refused: ${why}; root removes only routes it would have added` });
        continue;
      }
      if (findRoute(kernel.get(route.destination.family) ?? [], route.destination, route.gateway))
        changes.push({ op: "remove", destination: route.destination, gateway: route.gateway });
    }
    for (const entry of dead) {
      const family = kernel.get(entry.destination.family) ?? [];
      const inKernel = findRoute(family, entry.destination, entry.gateway);
      if (!inKernel || live.some((l) => sameRoute(l, entry))) {
        removed.push({ ...describe(entry), routeRemoved: false });
        drop.push(entry.json);
        continue;
      }
      if (!ourRecord(entry)) {
        if (!policy.operator) {
          refused.push(
            failure(
              entry,
              `refused: root did not add this route, and through the helper it removes only what it added; run "sudo mktunnel cleanup" (or "minikube tunnel --cleanup") once`,
            ),
          );
          continue;
        }
        host ??= await hostAddresses([...kernel.values()].flat());
        const why = await removalRefusal(entry, inKernel, family, policy.allowances, host);
        if (why) {
          refused.push(failure(entry, `refused: ${why}; root removes only routes it would have added`));
          continue;
        }
      }
      waiting.push(entry);
      // Several dead entries may name one route (minikube keeps duplicates): remove it once.
      if (!changes.some((c) => sameRoute(c, entry)))
        changes.push({ op: "remove", destination: entry.destination, gateway: entry.gateway });
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
      } else failures.push(failure(entry, result.error ?? "route was not removed"));
    }
    for (const result of results) {
      if (waiting.some((entry) => sameRoute(result.change, entry))) continue;
      const { destination, gateway } = result.change;
      const owner = recorded.find((r) => sameRoute(r, result.change));
      if (result.ok)
        removed.push({
          destination: destination.text,
          gateway,
          profile: owner?.profile ?? "",
          pid: 0,
          writer: "minikube-tunnel",
          routeRemoved: true,
        });
      else
        failures.push({
          destination: destination.text,
          gateway,
          profile: owner?.profile ?? "",
          pid: 0,
          error: result.error ?? "route was not removed",
        });
    }
    if (drop.length > 0)
      await tx.update((entries) => ({
        entries: entries.filter((e) => !drop.some((d) => sameEntry(d, e))),
        result: undefined,
      }));
    return { removed, failures, refused, skippedAlive: live.length, recordedKept };
  });
}
