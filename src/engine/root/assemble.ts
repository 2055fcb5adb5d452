import { sameRoute } from "../../shared/tunnel-entry.js";
import { type ProcessIdentity, isTunnelProcessAlive } from "../registry/process-liveness.js";
import type { RegistryFile } from "../registry/registry-file.js";
import type { FileOwner } from "./files/guarded-files.js";
import { loopbackAliasesFor } from "./loopback/loopback-aliases-darwin.js";
import { markerStarted } from "./names/hosts-block.js";
import { NamesWriter } from "./names/names-writer.js";
import type { Allowances } from "./policy/allowances.js";
import { RootSession } from "./root-session.js";
import { OwnRoutes } from "./routes/own-routes.js";
import type { RouteRef } from "./root.js";
import type { RouteTable } from "./routes/route-table.js";
import { RouteRegistrar } from "./routes/route-transaction.js";

export interface RootSessionParts {
  readonly table: RouteTable;
  readonly registry: RegistryFile;
  /**
   * The process whose life the session's entries and names follow: the helper's client, or a root tunnel's registry
   * pid.
   */
  readonly owner: ProcessIdentity;
  /** The user root acts for. */
  readonly user: FileOwner;
  /**
   * Root's runtime directory and this root process, for the record of what it adds; null keeps the record in memory
   * only.
   */
  readonly records: { readonly runtimeDir: string; readonly writer: ProcessIdentity; readonly tag: string } | null;
  /** Where names writers keep what they set (systemd-resolved's record); null: no names. */
  readonly namesDir: string | null;
  readonly relayTargetOwner: number | null;
  readonly allowances: Allowances;
  /** True for root serving its own operator (in process); false for a helper's client: cleanup believes the file's dead entries only then. */
  readonly operator: boolean;
  /** True when dead tunnels' routes may be adopted from the file's word: root on its own MINIPATH only. */
  readonly adopts: boolean;
  readonly log: (line: string) => void;
  readonly platform?: NodeJS.Platform;
  readonly onClosed?: () => void;
}

/** Whether a crashed root session of this user recorded adding a route: it is root's to take over. */
function inheritedFrom(runtimeDir: string, uid: number): (route: RouteRef) => Promise<boolean> {
  return async (route) => {
    const orphans = await OwnRoutes.orphans(runtimeDir, uid, (pid, started) =>
      isTunnelProcessAlive(pid, started || undefined),
    );
    return orphans.some((o) => o.routes.some((r) => sameRoute(r, route)));
  };
}

/**
 * A RootSession from its parts: the one place the helper (per client) and a root process (for itself) put one together.
 */
export function assembleRootSession(parts: RootSessionParts): RootSession {
  const records = parts.records;
  const record = records
    ? OwnRoutes.in(
        records.runtimeDir,
        { pid: records.writer.pid, started: records.writer.startTime ?? "" },
        records.tag,
        parts.user.uid,
      )
    : new OwnRoutes(null, { pid: parts.owner.pid, started: "" }, parts.user.uid);
  const names =
    parts.namesDir === null
      ? null
      : NamesWriter.forPlatform(
          { pid: parts.owner.pid, started: markerStarted(parts.owner.startTime) },
          parts.namesDir,
          records ? { tag: records.tag } : {},
        );
  return new RootSession({
    table: parts.table,
    registry: parts.registry,
    registrar: new RouteRegistrar(parts.table, parts.registry, parts.owner, record, {
      adopts: parts.adopts,
      inherited: records ? inheritedFrom(records.runtimeDir, parts.user.uid) : async () => false,
      allowances: parts.allowances,
    }),
    user: parts.user,
    relayTargetOwner: parts.relayTargetOwner,
    allowances: parts.allowances,
    operator: parts.operator,
    runtimeDir: records?.runtimeDir ?? null,
    names,
    aliases: loopbackAliasesFor(),
    log: parts.log,
    ...(parts.platform ? { platform: parts.platform } : {}),
    ...(parts.onClosed ? { onClosed: parts.onClosed } : {}),
  });
}
