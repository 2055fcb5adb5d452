import type { Cidr } from "../../shared/cidr.js";
import type { RouteConflict } from "../../shared/routes.js";
import { type TunnelEntryJson, entryFromJson, entryToJson, sameRoute } from "../../shared/tunnel-entry.js";
import { type RegistryView, evaluateRoute } from "../routes/conflicts.js";
import { type RouteTable, findRoute } from "../routes/route-table.js";
import { type ProcessIdentity, isTunnelProcessAlive } from "./process-liveness.js";
import type { RegistryFile } from "./registry-file.js";
import type { RouteService } from "./route-service.js";

export interface RouteRequest {
  readonly destination: Cidr;
  readonly gateway: string;
  readonly profile: string;
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
}

export type AddOutcome =
  | { readonly kind: "added" | "adopted" | "already-active" }
  | { readonly kind: "conflict"; readonly conflict: RouteConflict };

export class RollbackError extends Error {
  constructor(message: string, override readonly cause: unknown, readonly rollbackError?: unknown) {
    super(rollbackError ? `${message}; rollback also failed: ${(rollbackError as Error).message}` : message);
    this.name = "RollbackError";
  }
}

export async function registryViews(entries: readonly TunnelEntryJson[]): Promise<RegistryView[]> {
  return Promise.all(
    entries.map(async (json) => {
      const entry = entryFromJson(json);
      return { entry, alive: await isTunnelProcessAlive(entry.pid, entry.pidStartTime) };
    }),
  );
}

/**
 * Keeps the routing table and tunnels.json in step (the seed's "atomic
 * transaction"): each change happens under the registry lock, and if the second
 * half fails the first half is undone.
 */
export class RouteRegistrar implements RouteService {
  constructor(
    private readonly table: RouteTable,
    private readonly registry: RegistryFile,
    private readonly self: ProcessIdentity,
  ) {}

  /** In-process changes need no declaration: the caller is already trusted. */
  async declare(): Promise<void> {}

  add(request: RouteRequest): Promise<AddOutcome> {
    let routeAdded = false;
    return this.registry.update<AddOutcome>(async (entries) => {
      const views = await registryViews(entries);
      const kernel = await this.table.list(request.destination.family);
      const verdict = evaluateRoute(request.destination, request.gateway, kernel, views, { profile: request.profile, pid: this.self.pid });
      switch (verdict.kind) {
        case "conflict":
          return { entries, result: verdict };
        case "already-ours":
          return { entries, result: { kind: "already-active" } };
        case "adopt":
          return {
            entries: [...entries.filter((e) => !sameRoute(entryFromJson(e), verdict.entry)), this.entryFor(request)],
            result: { kind: "adopted" },
          };
        case "add": {
          await this.table.add(request.destination, request.gateway);
          routeAdded = true;
          return { entries: [...entries, this.entryFor(request)], result: { kind: "added" } };
        }
      }
    }).catch(async (error: unknown) => {
      if (!routeAdded) throw error;
      try {
        await this.table.remove(request.destination, request.gateway);
      } catch (rollbackError) {
        throw new RollbackError(`registering ${request.destination.text} failed (${(error as Error).message})`, error, rollbackError);
      }
      throw new RollbackError(`registering ${request.destination.text} failed (${(error as Error).message}); the route was removed again`, error);
    });
  }

  /** Removes our route and then our entry; a failed registry write puts the route back. */
  remove(destination: Cidr, gateway: string, profile: string): Promise<"removed" | "not-registered"> {
    let routeRemoved = false;
    return this.registry
      .update(async (entries) => {
        const mine = entries.filter((json) => {
          const e = entryFromJson(json);
          return sameRoute(e, { destination, gateway }) && e.profile === profile && e.pid === this.self.pid;
        });
        if (mine.length === 0) return { entries, result: "not-registered" as const };
        if (findRoute(await this.table.list(destination.family), destination, gateway)) {
          await this.table.remove(destination, gateway);
          routeRemoved = true;
        }
        return { entries: entries.filter((e) => !mine.includes(e)), result: "removed" as const };
      })
      .catch(async (error: unknown) => {
        if (!routeRemoved) throw error;
        try {
          await this.table.add(destination, gateway);
        } catch (rollbackError) {
          throw new RollbackError(`removing ${destination.text} via ${gateway} from the registry failed (${(error as Error).message})`, error, rollbackError);
        }
        throw new RollbackError(`removing ${destination.text} via ${gateway} from the registry failed (${(error as Error).message}); the route was restored`, error);
      });
  }

  /** Every route this process registered, for every profile. */
  async ownRoutes(): Promise<{ destination: Cidr; gateway: string; profile: string }[]> {
    const entries = await this.registry.read();
    return entries.filter((e) => e.pid === this.self.pid).map((e) => ({ destination: e.destination, gateway: e.gateway, profile: e.profile }));
  }

  private entryFor(request: RouteRequest): TunnelEntryJson {
    return entryToJson({
      destination: request.destination,
      gateway: request.gateway,
      profile: request.profile,
      pid: this.self.pid,
      ...(this.self.startTime !== undefined ? { pidStartTime: this.self.startTime } : {}),
      clusterDomain: request.clusterDomain,
      clusterDnsIp: request.clusterDnsIp,
      createdAt: new Date().toISOString(),
    });
  }
}
