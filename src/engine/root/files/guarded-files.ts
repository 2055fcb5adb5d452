import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readlink, realpath, rename, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { type FileAccess, type ReplaceOptions, type TextEncoding, plainFiles, tempNameFor } from "../../system/file-access.js";

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND } = constants;
// Windows has neither; there root gets plain files (fileAccessFor).
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

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

/**
 * Walks an absolute path from `/` and refuses a symbolic link that a user
 * could have planted: one in a directory that is not root-controlled, or one
 * not owned by root. Links only root could make are followed (the walk starts
 * again on their target, so the target's own ancestors are judged too).
 * Components that do not exist yet end the walk: the caller creates them or fails.
 */
export async function assertNoUserLinks(path: string): Promise<void> {
  let pending = resolve(path).split(sep).filter(Boolean);
  let current = "/";
  let parentTrusted = true;
  for (let hops = 0; pending.length > 0; ) {
    const part = pending.shift()!;
    const next = join(current, part);
    let info: Stats;
    try {
      info = await lstat(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    if (info.isSymbolicLink()) {
      if (!parentTrusted || info.uid !== 0) throw new UnsafeFileError(next, "it is a symbolic link in a directory that a non-root user controls");
      if (++hops > 40) throw new UnsafeFileError(next, "too many levels of symbolic links");
      const target = await readlink(next);
      pending = [...(isAbsolute(target) ? resolve(target) : resolve(current, target)).split(sep).filter(Boolean), ...pending];
      current = "/";
      parentTrusted = true;
      continue;
    }
    parentTrusted = parentTrusted && rootControlled(info);
    current = next;
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
    /** Owner of files this guard creates; besides root the only acceptable owner of existing ones, and the required owner of directories it creates in. */
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
    let handle: FileHandle;
    try {
      handle = await this.openExisting(absolute(path), O_RDONLY);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
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
    await assertNoUserLinks(dirname(target));
    await this.assertCreatableIn(dirname(target));
    const existing = await lstat(target).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? null : Promise.reject(error)));
    if (existing) this.checkExisting(target, existing);
    const mode = existing ? existing.mode & 0o7777 : (options.mode ?? 0o644);
    const owner = existing ? { uid: existing.uid, gid: existing.gid } : this.owner;
    const temp = (options.tempName ?? tempNameFor)(target);
    const handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "EEXIST" || error.code === "ELOOP" ? new UnsafeFileError(temp, "a file or link already has this temporary name") : error;
    });
    let renamed = false;
    try {
      await handle.writeFile(data, options.encoding ?? "utf8");
      await this.checkStillAt(handle, temp);
      await handle.chown(owner.uid, owner.gid);
      await handle.chmod(mode);
      await handle.sync();
      await handle.close();
      if (options.beforeRename && !(await options.beforeRename())) return false;
      await rename(temp, target);
      renamed = true;
      return true;
    } finally {
      if (!renamed) {
        await handle.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
      }
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
   * Root creates files only in a directory of the user it acts for: never in
   * a root-owned one (a user-owned file in /etc/bash_completion.d is code in
   * everyone's shell), never in another user's.
   */
  private async assertCreatableIn(dir: string): Promise<void> {
    const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "ENOENT" ? new UnsafeFileError(dir, "the directory does not exist") : error;
    });
    if (!info.isDirectory()) throw new UnsafeFileError(dir, "it is not a directory");
    if (info.uid !== this.owner.uid) throw new UnsafeFileError(dir, `the directory belongs to uid ${info.uid}, not to uid ${this.owner.uid}, for whom root writes here`);
  }

  private async openOrCreate(path: string, flags: number, mode: number): Promise<FileHandle> {
    await assertNoUserLinks(dirname(path));
    const exists = await lstat(path).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? false : Promise.reject(error)),
    );
    if (!exists) {
      await this.assertCreatableIn(dirname(path));
      try {
        const handle = await open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          await this.checkStillAt(handle, path);
          await handle.chown(this.owner.uid, this.owner.gid);
          await handle.chmod(mode);
        } catch (error) {
          await handle.close();
          throw error;
        }
        return handle;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw this.explain(path, error);
      }
    }
    return this.openExisting(path, flags);
  }

  /**
   * Opens an existing file without following a link: lstat, open with
   * O_NOFOLLOW, and the descriptor must be the file lstat saw. A writer that
   * renames a new file into place meanwhile is normal here, so a mismatch is
   * tried again a few times before it counts as a swap.
   */
  private async openExisting(path: string, flags: number): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      await assertNoUserLinks(dirname(path));
      const seen = await lstat(path);
      this.checkExisting(path, seen);
      // O_NONBLOCK: a FIFO planted in place of the file must not hang root.
      const handle = await open(path, flags | O_NOFOLLOW | O_NONBLOCK).catch((error: unknown) => {
        throw this.explain(path, error);
      });
      try {
        const opened = await handle.stat();
        if (opened.dev === seen.dev && opened.ino === seen.ino) {
          this.checkExisting(path, opened);
          await this.checkStillAt(handle, path, false);
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

  private explain(path: string, error: unknown): unknown {
    const code = (error as NodeJS.ErrnoException).code;
    // Linux says ELOOP for a final-component link under O_NOFOLLOW; macOS and BSDs may say EMLINK or EFTYPE.
    if (code === "ELOOP" || code === "EMLINK" || code === "EFTYPE") return new UnsafeFileError(path, "it is a symbolic link");
    return error;
  }

  private checkExisting(path: string, info: Stats): void {
    if (info.isSymbolicLink()) throw new UnsafeFileError(path, "it is a symbolic link");
    if (!info.isFile()) throw new UnsafeFileError(path, "it is not a regular file");
    const allowed = new Set([0, this.owner.uid]);
    if (!allowed.has(info.uid)) throw new UnsafeFileError(path, `it belongs to uid ${info.uid}, not to root or uid ${this.owner.uid}`);
    if (info.nlink > 1) throw new UnsafeFileError(path, `it has ${info.nlink} hard links`);
  }

  /**
   * The descriptor must be the file we meant: the directories on the way are
   * checked again (a directory swapped for a link after the first check shows
   * here), and on Linux the descriptor's own path must be the expected one.
   * For a file we just created, the path must still name it.
   */
  private async checkStillAt(handle: FileHandle, path: string, created = true): Promise<void> {
    await assertNoUserLinks(dirname(path));
    if (created) {
      const opened = await handle.stat();
      const now = await lstat(path).catch(() => null);
      if (!now || now.dev !== opened.dev || now.ino !== opened.ino) throw new UnsafeFileError(path, "it changed while it was being opened");
    }
    if (process.platform === "linux") {
      const actual = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
      const expected = join(await realpath(dirname(path)), basename(path));
      // A file renamed over or unlinked meanwhile reads "(deleted)"; it was still the file at this path when opened.
      if (actual !== null && actual !== expected && actual !== `${expected} (deleted)`) throw new UnsafeFileError(path, `it resolves to ${actual}`);
    }
  }
}

/** The file access for a directory: guarded as root on POSIX, plain otherwise (a normal user, or Windows). */
export async function fileAccessFor(dir: string): Promise<FileAccess> {
  return isRootProcess() ? FileGuard.forDirectory(dir) : plainFiles;
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
  await assertNoUserLinks(dirname(path));
  const handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "ELOOP" || error.code === "EMLINK" || error.code === "EFTYPE" ? new UnsafeFileError(path, "it is a symbolic link") : error;
  });
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

