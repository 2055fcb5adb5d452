import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readlink } from "node:fs/promises";
import { join, parse, resolve, sep } from "node:path";

const { O_RDONLY } = constants;
// Windows has none of these: there root gets plain files from fileAccessFor, and the helper's log and port
// file, which still come here, rely on the walk's refusal of every link and junction.
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
export const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
/**
 * Linux names an open directory's entries as /proc/self/fd/<fd>/<name>: the descriptor-relative open Node has no call
 * for.
 */
const PIN_DIRECTORIES = process.platform === "linux";

/** Refuses a path root must not touch; the message names the path and says nothing was written. */
export class UnsafeFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`refusing to use ${path}: ${reason}; nothing was read, written or chowned`);
    this.name = "UnsafeFileError";
  }
}

/** Only root can change what a directory holds: root-owned, and not writable by others unless sticky. */
function rootControlled(info: Stats): boolean {
  return info.uid === 0 && ((info.mode & 0o022) === 0 || (info.mode & 0o1000) !== 0);
}

/** A path's root (`/`, `C:\\`) and its components. */
function components(path: string): { root: string; parts: string[] } {
  const absolutePath = resolve(path);
  const { root } = parse(absolutePath);
  return { root, parts: absolutePath.slice(root.length).split(sep).filter(Boolean) };
}

/** Whether a link met on the way may be followed, by who could have made it; throws if not. */
function judgeLink(
  path: string,
  link: Stats,
  parentTrusted: boolean,
  hops: number,
  platform: NodeJS.Platform = process.platform,
): void {
  // Windows: lstat reports a junction (a mount point reparse point) as a link too, and any user may make
  // one in a folder they can write (C:\ included) without privilege; uid and mode say nothing there.
  if (platform === "win32")
    throw new UnsafeFileError(
      path,
      "it is a symbolic link or a junction (a reparse point); an elevated process does not follow one where it writes",
    );
  if (!parentTrusted || link.uid !== 0)
    throw new UnsafeFileError(path, "it is a symbolic link in a directory that a non-root user controls");
  if (hops > 40) throw new UnsafeFileError(path, "too many levels of symbolic links");
}

/**
 * Walks an absolute path from its root and refuses a symbolic link that a
 * user could have planted: one in a directory that is not root-controlled,
 * or one not owned by root (on Windows any link or junction). Links only
 * root could make are followed (the walk starts again on their target, so
 * the target's own ancestors are judged too). Components that do not exist
 * yet end the walk: the caller creates them or fails.
 */
export async function assertNoUserLinks(path: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  let { root: current, parts } = components(path);
  let pending = parts;
  let parentTrusted = true;
  for (let hops = 0; pending.length > 0;) {
    const part = pending.shift()!;
    const next = join(current, part);
    const info = await lstat(next).catch((error: NodeJS.ErrnoException) =>
      error.code === "ENOENT" ? null : Promise.reject(error),
    );
    if (!info) return;
    if (info.isSymbolicLink()) {
      judgeLink(next, info, parentTrusted, ++hops, platform);
      ({ root: current, parts } = components(resolve(current, await readlink(next))));
      pending = [...parts, ...pending];
      parentTrusted = true;
      continue;
    }
    parentTrusted = parentTrusted && rootControlled(info);
    current = next;
  }
}

/** Where root works in a directory: its entries' names, and what the directory is. */
export interface WorkDir {
  /** The directory itself (fstat of the held descriptor on Linux). */
  readonly info: Stats;
  /** True when entries are named through the held descriptor: nothing on the path can redirect them any more. */
  readonly pinned: boolean;
  /** Runs one call on entries named by `at`; its error names their real paths. */
  on<T>(call: (at: (name: string) => string) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const fdEntry = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

/**
 * The directory for root's work in it. On Linux, held open: walked from `/`
 * one component at a time, each opened in the one before it with O_NOFOLLOW
 * (the rules of assertNoUserLinks, judged on what was opened), and its
 * entries named through the descriptor. A user who swaps a directory on
 * the way for a link after this cannot redirect an open, a create or a
 * rename: checking a path and then using it could not promise that. macOS
 * has neither /proc nor an openat in Node: there the path is checked, and
 * callers check again after they open (a residual race, docs/security.md).
 */
export async function workDir(dir: string): Promise<WorkDir> {
  if (!PIN_DIRECTORIES) {
    await assertNoUserLinks(dir);
    const info = await lstat(dir);
    return { info, pinned: false, on: (call) => call((name) => join(dir, name)), close: async () => undefined };
  }
  const handle = await pinDirectory(dir);
  const info = await handle.stat().catch((error: unknown) => handle.close().then(() => Promise.reject(error)));
  const on = <T>(call: (at: (name: string) => string) => Promise<T>) =>
    call((name) => fdEntry(handle, name)).catch((error: Record<string, unknown>) => {
      for (const key of ["message", "path", "dest"])
        if (typeof error[key] === "string") error[key] = error[key].replaceAll(`/proc/self/fd/${handle.fd}`, dir);
      throw error;
    });
  return { info, pinned: true, on, close: () => handle.close() };
}

/** Linux: assertNoUserLinks done by descriptor, ending on the directory, held open. A missing component is ENOENT. */
async function pinDirectory(dir: string): Promise<FileHandle> {
  const openDir = (path: string) => open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK);
  let pending = components(dir).parts;
  let current = "/";
  let handle = await openDir("/");
  let parentTrusted = true;
  try {
    for (let hops = 0; pending.length > 0;) {
      const part = pending.shift()!;
      const next = join(current, part);
      const entry = fdEntry(handle, part);
      // Linux answers ENOTDIR, not ELOOP, for a link opened with O_DIRECTORY | O_NOFOLLOW.
      const child = await openDir(entry).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ELOOP" || error.code === "ENOTDIR") return null;
        if (error.code === "ENOENT")
          throw Object.assign(new Error(`ENOENT: no such file or directory, open '${next}'`), {
            code: "ENOENT",
            path: next,
          });
        throw error;
      });
      if (child === null) {
        const link = await lstat(entry);
        if (!link.isSymbolicLink()) throw new UnsafeFileError(next, "it is not a directory");
        // A link, in a directory held open: only root can change one that passes judgeLink.
        judgeLink(next, link, parentTrusted, ++hops);
        pending = [...components(resolve(current, await readlink(entry))).parts, ...pending];
        current = "/";
        await handle.close();
        handle = await openDir("/");
        parentTrusted = true;
        continue;
      }
      const info = await child.stat().catch((error: unknown) => child.close().then(() => Promise.reject(error)));
      await handle.close();
      handle = child;
      parentTrusted = parentTrusted && rootControlled(info);
      current = next;
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}
