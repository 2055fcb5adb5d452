import { lstat, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { assertNoUserLinks } from "./directory-walk.js";
import { type WindowsSecurity, windowsSecurity } from "../../elevation/acl-windows.js";
import { ROOT_ONLY_SDDL, notRootOwned } from "../../elevation/sddl-windows.js";

/**
 * Root's runtime directory (records of what each session set, the installed
 * helper's channel): made root's when missing, refused when anyone else could
 * change it, since what is in it decides what root may undo. POSIX: owned by
 * root, not writable by group or others. Windows, where Node reports uid 0 and
 * mode 0666 for everything: created with a protected DACL for SYSTEM and
 * Administrators only; an existing folder must be owned by them (or by the
 * account this helper runs as) and changeable by nobody else. Any user may
 * create a folder in %ProgramData% first, and would own it: it is refused.
 */
export async function ensureRootDirectory(
  dir: string,
  platform: NodeJS.Platform = process.platform,
  windows: () => WindowsSecurity = windowsSecurity,
): Promise<void> {
  if (platform === "win32") {
    await mkdir(dirname(dir), { recursive: true });
    const security = windows();
    // A junction (a user may make one in %ProgramData% first) would have the checks below judge its target, which the
    // user can change afterwards: refused anywhere on the path, and the folder itself looked at, never followed.
    await assertNoUserLinks(dir, platform);
    if (security.createDirectory(dir, ROOT_ONLY_SDDL)) return;
    const info = await lstat(dir);
    if (info.isSymbolicLink()) throw new Error(`${dir} is a link or junction, not a folder`);
    if (!info.isDirectory()) throw new Error(`${dir} is not a folder`);
    const problem = notRootOwned(security.describe(dir), security.processUserSid());
    if (problem)
      throw new Error(
        `${dir} must be a folder only SYSTEM and Administrators can change, but ${problem}; an administrator may delete it, and the helper makes it anew`,
      );
    return;
  }
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const info = await stat(dir);
  if (info.uid !== 0 || (info.mode & 0o022) !== 0)
    throw new Error(`runtime directory ${dir} must be owned by root and not writable by others`);
}
