import { readSecretText } from "../engine/root/files/guarded-files.js";
import { type WindowsSecurity, windowsSecurity } from "../engine/elevation/acl-windows.js";
import { SID, readersBeyond } from "../engine/elevation/sddl-windows.js";

export interface Secret {
  readonly value: string;
  /** The user the helper serves: the owner of the secret file, which only that user (or root) can create. */
  readonly uid: number;
  readonly gid: number;
}

/**
 * The secret reaches the helper as a file only its user can read, never on a
 * command line or in an environment another user could see. Root opens it
 * without following a link (a link to a root-owned file would make root the
 * "user"), and leaves deleting it to the client that made it.
 *
 * Only its user can read it: on POSIX, no group or other mode bits. On
 * Windows the mode is meaningless (Node reports 0666 for every file), so the
 * file's DACL must grant nobody but its owner, SYSTEM and Administrators
 * (the client creates it so, in a folder made the same way: elevation.ts).
 */
export async function readSecretFile(
  path: string,
  platform: NodeJS.Platform = process.platform,
  windows: Pick<WindowsSecurity, "describe"> = platform === "win32" ? windowsSecurity() : { describe: unreachable },
): Promise<Secret> {
  const { text, info } = await readSecretText(path);
  if (platform === "win32") {
    const sd = windows.describe(path);
    const others = readersBeyond(sd, [SID.SYSTEM, SID.ADMINISTRATORS, ...(sd.owner ? [sd.owner] : [])]);
    if (others.length > 0)
      throw new Error(
        `secret file ${path} can be read by ${others.join(", ")}; only its owner, SYSTEM and Administrators may read it`,
      );
  } else if ((info.mode & 0o077) !== 0)
    throw new Error(
      `secret file ${path} is readable or writable by others (mode ${(info.mode & 0o777).toString(8)}); it must be 0600`,
    );
  const value = text.trim();
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Error(`secret file ${path} does not hold a 64-digit hex secret`);
  return { value, uid: info.uid, gid: info.gid };
}

function unreachable(): never {
  throw new Error("Windows security is read only on Windows");
}
