import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { HelperConfig } from "../engine/elevation/helper-layout.js";
import { type WindowsSecurity, windowsSecurity } from "../engine/elevation/acl-windows.js";

const run = promisify(execFile);

/** The uid a user name has now (`id -u`, as install recorded it), or null when there is no such user. */
export async function uidOfUser(name: string): Promise<number | null> {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/.test(name)) return null;
  const out = await run("id", ["-u", "--", name], { timeout: 10_000 }).then(
    (r) => r.stdout.trim(),
    () => "",
  );
  return /^\d+$/.test(out) ? Number(out) : null;
}

/**
 * Why the recorded user is no longer the one install recorded, or null: on POSIX the name must still have the
 * recorded uid; on Windows, which has no uids, the recorded SID (LookupAccountNameW).
 */
export async function recordedUserChange(
  config: HelperConfig,
  platform: NodeJS.Platform = process.platform,
  windows: () => WindowsSecurity = windowsSecurity,
): Promise<string | null> {
  if (platform === "win32") {
    if (!config.sid) return `the record names ${config.user} without a SID`;
    const sid = windows().accountSid(config.user);
    return sid === config.sid
      ? null
      : `the recorded user ${config.user} is ${sid ?? "(no such user)"} now, not ${config.sid} as when the helper was installed`;
  }
  const uid = await uidOfUser(config.user);
  return uid === config.uid
    ? null
    : `the recorded user ${config.user} is uid ${uid ?? "(no such user)"} now, not uid ${config.uid} as when the helper was installed`;
}
