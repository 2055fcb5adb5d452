import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readlink, rename, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, parse, resolve, sep } from "node:path";
import {
  type FileAccess,
  type ReplaceOptions,
  type TextEncoding,
  plainFiles,
  tempNameFor,
} from "../../system/file-access.js";

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND } = constants;
// Windows has none of these: there root gets plain files from fileAccessFor, and the helper's log and port
// file, which still come here, rely on the walk's refusal of every link and junction.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
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

export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
}

const MAX_READ_BYTES = 16 * 1024 * 1024;

function isRootProcess(): boolean {
  return process.platform !== "win32" && process.getuid?.() === 0;
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
interface WorkDir {
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
async function workDir(dir: string): Promise<WorkDir> {
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

/**
 * Root's access to files in directories another user may control (MINIPATH,
 * the user's temp dir, /etc): docs/security.md, "Files root opens in a user's
 * directory". It never follows a link there, refuses files of unexpected
 * owners or with several hard links, creates files only with O_EXCL and only
 * in a directory owned by the user it acts for (never a root-owned or
 * relative one), chowns only what it created, and gives a replaced file the
 * mode and owner the old one had.
 */
export class FileGuard implements FileAccess {
  readonly strict = true;

  private constructor(
    /**
     * Owner of files this guard creates; besides root the only acceptable owner of existing ones, and the required
     * owner of directories it creates in.
     */
    readonly owner: FileOwner,
  ) {}

  static strictFor(owner: FileOwner): FileGuard {
    return new FileGuard(owner);
  }

  /** Files in `dir` (MINIPATH) belong to its owner, which must be reachable without user links. */
  static async forDirectory(dir: string): Promise<FileGuard> {
    await assertNoUserLinks(absolute(dir));
    try {
      const info = await lstat(dir);
      if (!info.isDirectory()) throw new UnsafeFileError(dir, "it is not a directory");
      return FileGuard.strictFor({ uid: info.uid, gid: info.gid });
    } catch (error) {
      // Not there yet: nothing can be created in it either, so root's own ownership changes nothing.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return FileGuard.strictFor({ uid: 0, gid: 0 });
      throw error;
    }
  }

  /** Reads a whole text file; null when it does not exist. */
  async readText(path: string, encoding: TextEncoding = "utf8"): Promise<string | null> {
    const handle = await this.openExisting(absolute(path), O_RDONLY).catch((error: NodeJS.ErrnoException) =>
      error.code === "ENOENT" ? null : Promise.reject(error),
    );
    if (!handle) return null;
    try {
      const info = await handle.stat();
      if (info.size > MAX_READ_BYTES) throw new UnsafeFileError(path, `it is larger than ${MAX_READ_BYTES} bytes`);
      return await handle.readFile(encoding);
    } finally {
      await handle.close();
    }
  }

  /**
   * Replaces `path` atomically: a new temporary file beside it (O_EXCL, never
   * through a link), written, fsynced, given the old file's mode and owner by
   * descriptor (a umask of 077 must not make /etc/hosts 0600), renamed over
   * the old one. Readers see the old file or the new one, never a mix.
   */
  async replace(path: string, data: string, options: ReplaceOptions = {}): Promise<boolean> {
    const target = absolute(path);
    const temp = (options.tempName ?? tempNameFor)(target);
    if (dirname(temp) !== dirname(target))
      throw new UnsafeFileError(temp, "a temporary file must be beside the file it replaces");
    const dir = await this.dirFor(dirname(target), true);
    const [name, tempName] = [basename(target), basename(temp)];
    let renamed = false;
    let handle: FileHandle | null = null;
    try {
      const existing = await dir
        .on((at) => lstat(at(name)))
        .catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? null : Promise.reject(error)));
      if (existing) this.checkExisting(target, existing);
      const mode = existing ? existing.mode & 0o7777 : (options.mode ?? 0o644);
      const owner = existing ? { uid: existing.uid, gid: existing.gid } : this.owner;
      handle = await dir
        .on((at) => open(at(tempName), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600))
        .catch((error: NodeJS.ErrnoException) => {
          throw error.code === "EEXIST" || error.code === "ELOOP"
            ? new UnsafeFileError(temp, "a file or link already has this temporary name")
            : error;
        });
      await handle.writeFile(data, options.encoding ?? "utf8");
      if (!dir.pinned) await this.checkStillAt(handle, temp);
      await handle.chown(owner.uid, owner.gid);
      await handle.chmod(mode);
      await handle.sync();
      await handle.close();
      if (options.beforeRename && !(await options.beforeRename())) return false;
      await dir.on((at) => rename(at(tempName), at(name)));
      renamed = true;
      return true;
    } finally {
      if (!renamed) {
        await handle?.close().catch(() => undefined);
        if (handle) await dir.on((at) => unlink(at(tempName))).catch(() => undefined);
      }
      await dir.close();
    }
  }

  /** Opens a file for appending (logs), creating it for the owner if needed. */
  openForAppend(path: string, mode = 0o600): Promise<FileHandle> {
    return this.openOrCreate(absolute(path), O_WRONLY | O_APPEND, mode);
  }

  /** Opens a lock file read-write, creating it for the owner if needed. */
  openLockFile(path: string, mode = 0o600): Promise<FileHandle> {
    return this.openOrCreate(absolute(path), O_RDWR, mode);
  }

  readSecret(path: string, maxBytes?: number): Promise<{ text: string; info: Stats }> {
    return readSecretText(absolute(path), maxBytes);
  }

  /**
   * The directory a file is created or opened in; held open on Linux (workDir), and for creating it must pass
   * assertCreatableIn.
   */
  private async dirFor(path: string, creating: boolean): Promise<WorkDir> {
    const dir = await workDir(path).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "ENOENT" ? new UnsafeFileError(path, "the directory does not exist") : error;
    });
    if (creating)
      await this.assertCreatableIn(path, dir).catch((error: unknown) => dir.close().then(() => Promise.reject(error)));
    return dir;
  }

  /**
   * Root creates files only in a directory of the user it acts for: never in
   * a root-owned one (a user-owned file in /etc/bash_completion.d is code in
   * everyone's shell), never in another user's. Judged on the directory held
   * open, which is the one the file is then created in.
   */
  private async assertCreatableIn(path: string, { info }: WorkDir): Promise<void> {
    if (!info.isDirectory()) throw new UnsafeFileError(path, "it is not a directory");
    if (info.uid !== this.owner.uid)
      throw new UnsafeFileError(
        path,
        `the directory belongs to uid ${info.uid}, not to uid ${this.owner.uid}, for whom root writes here`,
      );
  }

  private async openOrCreate(path: string, flags: number, mode: number): Promise<FileHandle> {
    const dir = await this.dirFor(dirname(path), false);
    const name = basename(path);
    try {
      const exists = await dir
        .on((at) => lstat(at(name)))
        .then(
          () => true,
          (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? false : Promise.reject(error)),
        );
      if (!exists) {
        await this.assertCreatableIn(dirname(path), dir);
        try {
          const handle = await dir.on((at) => open(at(name), flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600));
          try {
            if (!dir.pinned) await this.checkStillAt(handle, path);
            await handle.chown(this.owner.uid, this.owner.gid);
            await handle.chmod(mode);
          } catch (error) {
            await handle.close();
            throw error;
          }
          return handle;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw linkRefusal(path, error);
        }
      }
      return await this.openIn(dir, path, flags);
    } finally {
      await dir.close();
    }
  }

  private async openExisting(path: string, flags: number): Promise<FileHandle> {
    const dir = await workDir(dirname(path));
    return this.openIn(dir, path, flags).finally(() => dir.close());
  }

  /**
   * Opens an existing file without following a link: lstat, open with
   * O_NOFOLLOW, and the descriptor must be the file lstat saw. A writer that
   * renames a new file into place meanwhile is normal here, so a mismatch is
   * tried again a few times before it counts as a swap.
   */
  private async openIn(dir: WorkDir, path: string, flags: number): Promise<FileHandle> {
    const name = basename(path);
    for (let attempt = 0; ; attempt++) {
      if (!dir.pinned && attempt > 0) await assertNoUserLinks(dirname(path));
      const seen = await dir.on((at) => lstat(at(name)));
      this.checkExisting(path, seen);
      // O_NONBLOCK: a FIFO planted in place of the file must not hang root.
      const handle = await dir
        .on((at) => open(at(name), flags | O_NOFOLLOW | O_NONBLOCK))
        .catch((error: unknown) => Promise.reject(linkRefusal(path, error)));
      try {
        const opened = await handle.stat();
        if (opened.dev === seen.dev && opened.ino === seen.ino) {
          this.checkExisting(path, opened);
          if (!dir.pinned) await this.checkStillAt(handle, path, false);
          return handle;
        }
      } catch (error) {
        await handle.close();
        throw error;
      }
      await handle.close();
      if (attempt >= 5) throw new UnsafeFileError(path, "it keeps changing while it is being opened");
    }
  }

  private checkExisting(path: string, info: Stats): void {
    if (info.isSymbolicLink()) throw new UnsafeFileError(path, "it is a symbolic link");
    if (!info.isFile()) throw new UnsafeFileError(path, "it is not a regular file");
    const allowed = new Set([0, this.owner.uid]);
    if (!allowed.has(info.uid))
      throw new UnsafeFileError(path, `it belongs to uid ${info.uid}, not to root or uid ${this.owner.uid}`);
    if (info.nlink > 1) throw new UnsafeFileError(path, `it has ${info.nlink} hard links`);
  }

  /**
   * Where the directory is not held open (macOS): the descriptor must be the
   * file we meant. The directories on the way are checked again (a directory
   * swapped for a link after the first check and still swapped shows here),
   * and a file we just created must still be what the path names. A swap
   * undone in between is not seen: the residual race docs/security.md names.
   */
  private async checkStillAt(handle: FileHandle, path: string, created = true): Promise<void> {
    await assertNoUserLinks(dirname(path));
    if (created) {
      const opened = await handle.stat();
      const now = await lstat(path).catch(() => null);
      if (!now || now.dev !== opened.dev || now.ino !== opened.ino)
        throw new UnsafeFileError(path, "it changed while it was being opened");
    }
  }
}

/** The file access for a directory: guarded as root on POSIX, plain otherwise (a normal user, or Windows). */
export async function fileAccessFor(dir: string): Promise<FileAccess> {
  return isRootProcess() ? FileGuard.forDirectory(dir) : plainFiles;
}

function linkRefusal(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  // Linux says ELOOP for a final-component link under O_NOFOLLOW; macOS and BSDs may say EMLINK or EFTYPE.
  return code === "ELOOP" || code === "EMLINK" || code === "EFTYPE"
    ? new UnsafeFileError(path, "it is a symbolic link")
    : error;
}

/** Root acts only on absolute paths: a relative one would resolve against the daemon's working directory. */
function absolute(path: string): string {
  if (!isAbsolute(path)) throw new UnsafeFileError(path, "it is not an absolute path");
  return path;
}

/**
 * Reads a small file whose owner is not known in advance (the helper's
 * secret: its owner *is* the answer), with the same care: no link on the
 * way or at the end, a regular file with one link, no FIFO.
 */
export async function readSecretText(path: string, maxBytes = 4096): Promise<{ text: string; info: Stats }> {
  const dir = await workDir(dirname(path));
  const handle = await dir
    .on((at) => open(at(basename(path)), O_RDONLY | O_NOFOLLOW | O_NONBLOCK))
    .catch((error: unknown) => Promise.reject(linkRefusal(path, error)))
    .finally(() => dir.close());
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnsafeFileError(path, "it is not a regular file");
    if (info.nlink > 1) throw new UnsafeFileError(path, `it has ${info.nlink} hard links`);
    if (info.size > maxBytes) throw new UnsafeFileError(path, `it is larger than ${maxBytes} bytes`);
    return { text: await handle.readFile("utf8"), info };
  } finally {
    await handle.close();
  }
}
