import { lstat } from "node:fs/promises";
import { basename, dirname, isAbsolute } from "node:path";
import { type ProcessIdentity, currentProcessIdentity } from "../engine/registry/process-liveness.js";
import { RegistryFile } from "../engine/registry/registry-file.js";
import { plainFiles } from "../engine/system/file-access.js";
import { assertNoUserLinks } from "../engine/root/files/directory-walk.js";
import { FileGuard, type FileOwner } from "../engine/root/files/guarded-files.js";
import { assembleRootSession } from "../engine/root/assemble.js";
import type { Allowances } from "../engine/root/policy/allowances.js";
import type { RootSession } from "../engine/root/root-session.js";
import type { RouteTable } from "../engine/root/routes/route-table.js";
import type { Hello } from "./helper-server.js";
import { verifyClientPid } from "./client-pid.js";

export interface SessionSetup {
  readonly table: RouteTable;
  /** The user this helper serves: the secret file's owner, or the installed helper's recorded user. */
  readonly user: FileOwner;
  /** Root-owned: records of what each session set live here. */
  readonly runtimeDir: string;
  readonly allowances: Allowances;
  readonly log: (line: string) => void;
  readonly platform?: NodeJS.Platform;
}

/**
 * Root writes the registry only as the user's own tunnels.json: an absolute
 * path, in a directory that user owns (not root: a user-owned file in a
 * root-owned directory such as /etc/bash_completion.d runs in everyone's
 * shell), reached without a link the user could plant.
 */
export async function checkRegistryPath(
  path: string,
  uid: number,
  platform: NodeJS.Platform = process.platform,
): Promise<void> {
  if (!isAbsolute(path)) throw new Error(`the registry must be an absolute path, not ${path}`);
  if (basename(path) !== "tunnels.json") throw new Error(`the registry must be a tunnels.json file, not ${path}`);
  if (platform === "win32") return;
  await assertNoUserLinks(dirname(path));
  const info = await lstat(dirname(path)).catch(() => {
    throw new Error(`registry directory ${dirname(path)} does not exist`);
  });
  if (!info.isDirectory()) throw new Error(`registry directory ${dirname(path)} is not a directory`);
  if (info.uid !== uid)
    throw new Error(`registry directory ${dirname(path)} belongs to uid ${info.uid}, not to the helper's user ${uid}`);
}

let sessions = 0;

/**
 * A client's RootSession, at its hello: its registry checked, its pid its user's, a record of its own in root's runtime
 * directory.
 */
export async function openRootSession(
  setup: SessionSetup,
  registryPath: string,
  hello: Hello,
  self?: ProcessIdentity,
): Promise<RootSession> {
  const platform = setup.platform ?? process.platform;
  await checkRegistryPath(registryPath, setup.user.uid, platform);
  const client = await verifyClientPid(hello.pid, setup.user.uid, platform);
  const tag = `s${++sessions}`;
  const log = (line: string) => setup.log(`[${tag} pid ${client.pid}] ${line}`);
  const registry = new RegistryFile(registryPath, {
    files: platform === "win32" ? plainFiles : FileGuard.strictFor(setup.user),
  });
  log(`client pid ${client.pid}, registry ${registryPath}`);
  const session = assembleRootSession({
    table: setup.table,
    registry,
    owner: client,
    user: setup.user,
    records: { runtimeDir: setup.runtimeDir, writer: self ?? (await currentProcessIdentity()), tag },
    namesDir: setup.runtimeDir,
    relayTargetOwner: platform === "win32" ? null : setup.user.uid,
    allowances: setup.allowances,
    // The client's user can write anything into tunnels.json: root takes over and cleans up only what it recorded
    // adding.
    operator: false,
    adopts: false,
    log,
    platform,
  });
  // A crash of an earlier helper (or of its client and it together) left routes and names: taken back before anything new.
  await session
    .reclaimOrphans()
    .catch((error: Error) => log(`could not take back what a crashed session left: ${error.message}`));
  return session;
}
