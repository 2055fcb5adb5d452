import { currentProcessIdentity } from "../registry/process-liveness.js";
import { isElevated } from "../system/elevation-state.js";
import { ensureRootDirectory } from "./files/root-directory.js";
import type { RegistryFile } from "../registry/registry-file.js";
import { FileGuard } from "./files/guarded-files.js";
import { type Allowances, NO_ALLOWANCES } from "./policy/allowances.js";
import { registryPidFor } from "./registry-pid.js";
import type { RootSession } from "./root-session.js";
import type { RouteTable } from "./routes/route-table.js";
import { assembleRootSession } from "./assemble.js";

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
  const isRoot = isElevated();
  const files = await options.registry.files();
  const user =
    files instanceof FileGuard ? files.owner : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const self = await currentProcessIdentity();
  // Root's records go in root's own folder; on Windows any user could have made %ProgramData%\minikube-tunnel first.
  if (isRoot) await ensureRootDirectory(options.runtimeDir);
  // Last of what can fail before the session exists, so nothing has to stop it on the way.
  const owner = await registryPidFor(user);
  const names = isRoot && options.names !== false;
  const session = assembleRootSession({
    table: options.table,
    registry: options.registry,
    owner: owner.identity,
    user,
    records: isRoot ? { runtimeDir: options.runtimeDir, writer: self, tag: "p" } : null,
    namesDir: names ? options.runtimeDir : null,
    relayTargetOwner: null,
    allowances: options.allowances ?? NO_ALLOWANCES,
    // Whoever runs root in process has root already: the file's dead entries are theirs to clean.
    operator: true,
    // A dead tunnel's route is adopted from the file's word only when the file is root's own: a user whose MINIPATH
    // root works on can forge an entry for any route.
    adopts: user.uid === 0,
    log: options.log ?? (() => undefined),
    onClosed: () => owner.stop(),
  });
  // What a crashed root tunnel of this user left (its record in the runtime directory) is taken back first.
  if (isRoot) await session.reclaimOrphans().catch(() => undefined);
  return session;
}
