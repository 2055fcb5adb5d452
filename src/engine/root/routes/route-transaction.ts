import type { KernelRoute, RouteConflict } from "../../../shared/routes.js";
import {
  type TunnelEntry,
  type TunnelEntryJson,
  entryFromJson,
  entryToJson,
  sameRoute,
} from "../../../shared/tunnel-entry.js";
import type { ProcessIdentity } from "../../registry/process-liveness.js";
import type { RegistryFile } from "../../registry/registry-file.js";
import { type Allowances, NO_ALLOWANCES } from "../policy/allowances.js";
import { pathRefusal } from "../policy/route-policy.js";
import type { AddOutcome, RemoveOutcome, RouteRef } from "../root.js";
import { evaluateRoute, vpnBypassNote } from "./conflicts.js";
import { OwnRoutes } from "./own-routes.js";
import { kernelTables, registryViews, sameEntry } from "./registry-views.js";
import { type RouteChange, type RouteTable, findRoute } from "./route-table.js";

/** A route with what its registry entry records of the cluster (minikube reads ClusterDomain and ClusterDNSIP). */
export interface RouteEntryRequest extends RouteRef {
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
}

/**
 * What a registrar's root may do beyond its own record (docs/security.md, "The root policy"): how far it believes the
 * user's tunnels.json, and what the administrator allowed.
 */
export interface RegistrarPolicy {
  /**
   * True when a dead tunnel's route may be adopted from the file's word:
   * root working on its own MINIPATH (`sudo mktunnel` for root's own
   * minikube). False for a helper's client, and for root acting for another
   * user, whose file they can make say anything.
   */
  readonly adopts: boolean;
  /** Whether a crashed root session of this user recorded adding this route (own-routes.ts). */
  readonly inherited: (route: RouteRef) => Promise<boolean>;
  readonly allowances: Allowances;
}

export const OPERATOR_POLICY: RegistrarPolicy = {
  adopts: true,
  inherited: async () => false,
  allowances: NO_ALLOWANCES,
};

function notTakenOver(request: RouteRef, holder: TunnelEntry, kernel: readonly KernelRoute[]): RouteConflict {
  const held = ` (claimed by profile "${holder.profile}", pid ${holder.pid})`;
  return {
    requested: request.destination.text,
    existing: {
      destination: request.destination.text,
      gateway: request.gateway,
      interface: findRoute(kernel, request.destination, request.gateway)?.interface ?? null,
    },
    reason: "not-added-by-root",
    owner: { profile: holder.profile, pid: holder.pid },
    message: `${request.destination.text} via ${request.gateway} is already in the routing table${held}, and root did not add it: it is neither taken over nor removed through the helper; run "sudo mktunnel cleanup" (or "minikube tunnel --cleanup") once`,
  };
}

/** The first route that went in carries the batch's note, if there is one. */
function withNote(outcomes: AddOutcome[], kernel: readonly KernelRoute[]): AddOutcome[] {
  const note = vpnBypassNote(kernel);
  const first = note
    ? outcomes.findIndex((o) => o.kind === "added" || o.kind === "adopted" || o.kind === "already-active")
    : -1;
  return first < 0 ? outcomes : outcomes.map((o, i) => (i === first ? ({ ...o, note: note! } as AddOutcome) : o));
}

/**
 * Keeps the routing table and tunnels.json in step, one batch per call, in
 * a crash-safe order (docs/architecture.md, "Crash-safe order"): an entry is
 * written before its route goes into the kernel, and dropped only after its
 * route is gone. A kill -9 at any point therefore leaves at most entries of
 * a dead process, which cleanup removes together with their routes.
 *
 * Its entries carry the pid of `self`, the process whose life the tunnel
 * follows and that the MINIPATH owner can signal (minikube judges liveness
 * with kill(pid, 0)): the helper's client, or a child of a root tunnel. What
 * it put in the kernel or adopted is in `record`, which only root writes.
 */
export class RouteRegistrar {
  constructor(
    private readonly table: RouteTable,
    private readonly registry: RegistryFile,
    private readonly self: ProcessIdentity,
    private readonly record: OwnRoutes = new OwnRoutes(null, { pid: self.pid, started: self.startTime ?? "" }, -1),
    private readonly policy: RegistrarPolicy = OPERATOR_POLICY,
  ) {}

  /**
   * Whether root takes a route the kernel already has as this session's: a
   * route root itself added (this session's record, or a crashed root
   * session's for this user) always; one a dead tunnel left only for the
   * operator on its own MINIPATH. A forged entry in the user's file never makes another
   * program's route one root will later remove.
   */
  private async takeOver(request: RouteRef, verdict: "already-ours" | "adopt"): Promise<boolean> {
    if (this.record.has(request) || (await this.policy.inherited(request))) return true;
    return verdict === "adopt" && this.policy.adopts;
  }

  addRoutes(requests: readonly RouteEntryRequest[]): Promise<AddOutcome[]> {
    if (requests.length === 0) return Promise.resolve([]);
    return this.registry.locked(async (tx) => {
      const views = await registryViews(await tx.read());
      const kernel = await kernelTables(
        this.table,
        requests.map((r) => r.destination.family),
      );
      // The fixed rules on the kernel's side (docs/security.md): never through the default gateway or a VPN link, for
      // an add or an adoption alike.
      const refusals = await Promise.all(
        requests.map((r) =>
          pathRefusal(r.gateway, kernel.get(r.destination.family) ?? [], { allowances: this.policy.allowances }),
        ),
      );
      const outcomes: (AddOutcome | null)[] = [];
      const toAdd: number[] = [];
      const dropDead: TunnelEntryJson[] = [];
      const newEntries: TunnelEntryJson[] = [];
      const remembered: RouteRef[] = [];
      for (const [i, request] of requests.entries()) {
        const refused = refusals[i];
        if (refused) {
          outcomes.push({ kind: "failed", error: `refused: ${refused}` });
          continue;
        }
        const verdict = evaluateRoute(
          request.destination,
          request.gateway,
          kernel.get(request.destination.family) ?? [],
          views,
          { profile: request.profile, pid: this.self.pid },
        );
        if (verdict.kind === "conflict") {
          outcomes.push({ kind: "conflict", conflict: verdict.conflict });
          continue;
        }
        if (verdict.kind !== "add" && !(await this.takeOver(request, verdict.kind))) {
          outcomes.push({
            kind: "conflict",
            conflict: notTakenOver(request, verdict.entry, kernel.get(request.destination.family) ?? []),
          });
          continue;
        }
        if (verdict.kind === "already-ours") {
          remembered.push(request);
          outcomes.push({ kind: "already-active" });
          continue;
        }
        // Dead entries for this route (minikube's after a reboot, or a crashed tunnel's) would otherwise make cleanup
        // remove our live route.
        // Our own older entry for it (the route was flushed from the kernel) is replaced, not duplicated.
        for (const v of views)
          if (
            (!v.alive || (v.entry.pid === this.self.pid && v.entry.profile === request.profile)) &&
            sameRoute(v.entry, request)
          )
            dropDead.push(v.entry.json);
        newEntries.push(this.entryFor(request));
        if (verdict.kind === "adopt") {
          remembered.push(request);
          outcomes.push({ kind: "adopted" });
          continue;
        }
        toAdd.push(i);
        outcomes.push(null);
      }
      await this.record.add(...remembered);
      if (newEntries.length === 0) return withNote(outcomes as AddOutcome[], [...kernel.values()].flat());
      await tx.update((entries) => ({
        entries: [...entries.filter((e) => !dropDead.some((d) => sameEntry(d, e))), ...newEntries],
        result: undefined,
      }));
      // Recorded before the kernel has it: a kill -9 between the two leaves a record cleanup can act on, never a route
      // root cannot prove it added.
      await this.record.add(...toAdd.map((i) => requests[i]!));
      const results = await this.table.apply(
        toAdd.map((i): RouteChange => ({
          op: "add",
          destination: requests[i]!.destination,
          gateway: requests[i]!.gateway,
        })),
      );
      const failed: TunnelEntryJson[] = [];
      const notAdded: RouteRef[] = [];
      results.forEach((result, k) => {
        const i = toAdd[k]!;
        const request = requests[i]!;
        if (result.ok) {
          outcomes[i] = { kind: "added" };
        } else {
          notAdded.push(request);
          failed.push(newEntries.find((e) => sameRoute(entryFromJson(e), request))!);
          outcomes[i] = { kind: "failed", error: result.error ?? "route was not added" };
        }
      });
      await this.record.remove(...notAdded);
      if (failed.length > 0)
        await tx.update((entries) => ({
          entries: entries.filter((e) => !failed.some((f) => sameEntry(f, e))),
          result: undefined,
        }));
      return withNote(outcomes as AddOutcome[], [...kernel.values()].flat());
    });
  }

  /**
   * Removes our routes, then our entries. A route another live entry also
   * holds stays in the kernel (only our entry goes): minikube's own Remove
   * may have dropped or duplicated entries, and the table is shared. With
   * `takeBack` (the client went away) root removes what it recorded adding
   * whatever the user's file says, so a forged live entry cannot keep it.
   */
  async removeRoutes(routes: readonly RouteRef[], options: { takeBack?: boolean } = {}): Promise<RemoveOutcome[]> {
    if (routes.length === 0) return [];
    if (!options.takeBack) return this.removeWithEntries(routes, false);
    try {
      return await this.removeWithEntries(routes, true);
    } catch (error) {
      // The user's file is unreadable or locked for good (garbage, a directory, a lock never released): what root added
      // still goes.
      return this.removeRecordedOnly(routes, (error as Error).message);
    }
  }

  /**
   * Takes recorded routes out of the kernel without the registry; their entries, if any, are a dead pid's for cleanup.
   */
  private async removeRecordedOnly(routes: readonly RouteRef[], why: string): Promise<RemoveOutcome[]> {
    const kernel = await kernelTables(
      this.table,
      routes.map((r) => r.destination.family),
    );
    const present = routes.filter(
      (r) => this.record.has(r) && findRoute(kernel.get(r.destination.family) ?? [], r.destination, r.gateway),
    );
    const results = await this.table.apply(
      present.map((r): RouteChange => ({ op: "remove", destination: r.destination, gateway: r.gateway })),
    );
    const outcomes: RemoveOutcome[] = [];
    for (const route of routes) {
      if (!this.record.has(route)) {
        outcomes.push({ kind: "not-ours" });
        continue;
      }
      const i = present.indexOf(route);
      const result: { ok: boolean; error?: string } = i < 0 ? { ok: true } : results[i]!;
      if (result.ok) await this.record.remove(route);
      outcomes.push(
        result.ok
          ? { kind: "removed" }
          : { kind: "failed", error: `${result.error ?? "route was not removed"} (tunnels.json: ${why})` },
      );
    }
    return outcomes;
  }

  private removeWithEntries(routes: readonly RouteRef[], takeBack: boolean): Promise<RemoveOutcome[]> {
    return this.registry.locked(async (tx) => {
      const views = await registryViews(await tx.read());
      const kernel = await kernelTables(
        this.table,
        routes.map((r) => r.destination.family),
      );
      const outcomes: (RemoveOutcome | null)[] = [];
      const toRemove: number[] = [];
      const drop: TunnelEntryJson[] = [];
      const forgotten: RouteRef[] = [];
      routes.forEach((route, i) => {
        const ours = views.filter(
          (v) => sameRoute(v.entry, route) && v.entry.profile === route.profile && v.entry.pid === this.self.pid,
        );
        if (ours.length === 0 && !this.record.has(route)) return outcomes.push({ kind: "not-ours" });
        drop.push(...ours.map((v) => v.entry.json));
        const other = takeBack
          ? undefined
          : views.find((v) => v.alive && v.entry.pid !== this.self.pid && sameRoute(v.entry, route));
        if (other) {
          forgotten.push(route);
          return outcomes.push({
            kind: "left-to-live-owner",
            owner: { profile: other.entry.profile, pid: other.entry.pid },
          });
        }
        if (!findRoute(kernel.get(route.destination.family) ?? [], route.destination, route.gateway)) {
          forgotten.push(route);
          return outcomes.push({ kind: "removed" });
        }
        toRemove.push(i);
        outcomes.push(null);
      });
      const results = await this.table.apply(
        toRemove.map((i): RouteChange => ({
          op: "remove",
          destination: routes[i]!.destination,
          gateway: routes[i]!.gateway,
        })),
      );
      const keep: TunnelEntryJson[] = [];
      results.forEach((result, k) => {
        const i = toRemove[k]!;
        const route = routes[i]!;
        if (result.ok) {
          forgotten.push(route);
          outcomes[i] = { kind: "removed" };
        } else {
          // The route is still in, so its entry stays: cleanup can find it after we are gone.
          keep.push(...drop.filter((e) => sameRoute(entryFromJson(e), route)));
          outcomes[i] = { kind: "failed", error: result.error ?? "route was not removed" };
        }
      });
      await this.record.remove(...forgotten);
      const gone = drop.filter((e) => !keep.includes(e));
      if (gone.length > 0)
        await tx.update((entries) => ({
          entries: entries.filter((e) => !gone.some((g) => sameEntry(g, e))),
          result: undefined,
        }));
      return outcomes as RemoveOutcome[];
    });
  }

  /** The routes this registrar added or adopted, and still holds (root keeps one registrar per client). */
  heldRoutes(): RouteRef[] {
    return this.record.all();
  }

  holds(route: RouteRef): boolean {
    return this.record.has(route);
  }

  private entryFor(request: RouteEntryRequest): TunnelEntryJson {
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
