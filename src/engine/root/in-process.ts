import { currentProcessIdentity } from "../registry/process-liveness.js";
import type { RegistryFile } from "../registry/registry-file.js";
import { FileGuard } from "./files/guarded-files.js";
import { loopbackAliasesFor } from "./loopback/loopback-aliases.js";
import { markerStarted } from "./names/hosts-block.js";
import { NamesWriter } from "./names/names-writer.js";
import { type Allowances, NO_ALLOWANCES } from "./policy/allowances.js";
import { registryPidFor } from "./registry-pid.js";
import { RootSession } from "./root-session.js";
import { RouteRecord } from "./routes/route-record.js";
import type { RouteTable } from "./routes/route-table.js";
import { RouteRegistrar } from "./routes/route-transaction.js";

export interface InProcessRootOptions {
  readonly registry: RegistryFile;
  readonly table: RouteTable;
  /** Root's runtime directory (records of what it set); names and records are kept only when this process is root. */
  readonly runtimeDir: string;
  readonly log?: (line: string) => void;
  readonly allowances?: Allowances;
  /** False: no cluster names (a test that must not touch the machine's resolver). */
  readonly names?: boolean;
}

/**
 * This process as its own root (`sudo mktunnel start`, or a test run as
 * root): the same RootSession the helper gives each client, with the same
 * policy, acting for the owner of MINIPATH. Entries and name markers carry
 * a pid that owner can signal (registry-pid.ts); closing takes everything back.
 */
export async function createInProcessRoot(options: InProcessRootOptions): Promise<RootSession> {
  const isRoot = process.platform !== "win32" && process.getuid?.() === 0;
  const files = await options.registry.files();
  const user = files instanceof FileGuard ? files.owner : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const owner = await registryPidFor(user);
  const self = await currentProcessIdentity();
  const record = isRoot ? RouteRecord.in(options.runtimeDir, { pid: self.pid, started: self.startTime ?? "" }, "p", user.uid) : new RouteRecord(null, { pid: self.pid, started: "" }, user.uid);
  const log = options.log ?? (() => undefined);
  const names = isRoot || process.platform === "win32" ? (options.names === false ? null : NamesWriter.forPlatform({ pid: owner.identity.pid, started: markerStarted(owner.identity.startTime) }, options.runtimeDir)) : null;
  return new RootSession({
    table: options.table,
    registry: options.registry,
    registrar: new RouteRegistrar(options.table, options.registry, owner.identity, record),
    user,
    relayTargetOwner: null,
    allowances: options.allowances ?? NO_ALLOWANCES,
    runtimeDir: isRoot ? options.runtimeDir : null,
    names,
    aliases: loopbackAliasesFor(),
    log,
    onClosed: () => owner.stop(),
  });
}
