import { randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readlink, realpath, rename, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND } = constants;
// Windows has neither; there the guard is always lenient (see FileGuard.forProcess).
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
 * How this process may touch files in a directory another user may control
 * (MINIPATH, the user's temp dir). A *strict* guard (root on POSIX) never
 * follows a link there, refuses files of unexpected owners or with several
 * hard links, creates files with O_EXCL and chowns only what it created. A
 * lenient guard (a normal user, Windows) behaves like plain fs calls.
 * See docs/security.md, "Root and the user's files".
 */
export class FileGuard {
  private constructor(
    readonly strict: boolean,
    /** Owner for files a strict guard creates, and besides root the only acceptable owner of existing ones. */
    readonly owner: FileOwner | null,
  ) {}

  static lenient(): FileGuard {
    return new FileGuard(false, null);
  }

  static strictFor(owner: FileOwner): FileGuard {
    return new FileGuard(true, owner);
  }

  /** Strict when root: files belong to the owner of `dir` (MINIPATH), which must itself be reachable without user links. */
  static async forDirectory(dir: string): Promise<FileGuard> {
    if (!isRootProcess()) return FileGuard.lenient();
    await assertNoUserLinks(dir);
    try {
      const info = await lstat(dir);
      if (!info.isDirectory()) throw new UnsafeFileError(dir, "it is not a directory");
      return FileGuard.strictFor({ uid: info.uid, gid: info.gid });
    } catch (error) {
      // Not there yet: files created later belong to root, which can always read them back.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return FileGuard.strictFor({ uid: 0, gid: 0 });
      throw error;
    }
  }

  /** Reads a whole text file; null when it does not exist. */
  async readText(path: string): Promise<string | null> {
    let handle: FileHandle;
    try {
      handle = await this.openExisting(path, O_RDONLY);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    try {
      const info = await handle.stat();
      if (info.size > MAX_READ_BYTES) throw new UnsafeFileError(path, `it is larger than ${MAX_READ_BYTES} bytes`);
      return await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  }

  /**
   * Replaces `path` atomically: a new temporary file beside it (O_EXCL, never
   * through a link), written, fsynced, chowned by descriptor, renamed over the
   * old one. Readers see the old file or the new one, never a mix.
   * `beforeRename` may veto the rename (the caller saw the file change and
   * will try again); the answer is whether the file was replaced.
   */
  async replace(path: string, data: string, options: { mode?: number; tempName?: (path: string) => string; beforeRename?: () => Promise<boolean> } = {}): Promise<boolean> {
    let target = path;
    let mode = options.mode ?? 0o644;
    if (this.strict) {
      await assertNoUserLinks(dirname(path));
      const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? null : Promise.reject(error)));
      if (existing) {
        this.checkExisting(path, existing);
        mode = existing.mode & 0o777;
      }
    } else {
      // A normal user may keep tunnels.json behind a link of their own, as minikube allows.
      target = await realpath(path).catch(() => path);
    }
    const temp = (options.tempName ?? defaultTempName)(target);
    const handle = await open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "EEXIST" || error.code === "ELOOP" ? new UnsafeFileError(temp, "a file or link already has this temporary name") : error;
    });
    let renamed = false;
    try {
      await handle.writeFile(data, "utf8");
      await handle.sync();
      if (this.strict) {
        await this.checkStillAt(handle, temp);
        if (this.owner && this.owner.uid !== 0) await handle.chown(this.owner.uid, this.owner.gid);
      }
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
    return this.openOrCreate(path, O_WRONLY | O_APPEND, mode);
  }

  /** Opens a lock file read-write, creating it for the owner if needed. */
  openLockFile(path: string, mode = 0o600): Promise<FileHandle> {
    return this.openOrCreate(path, O_RDWR, mode);
  }

  private async openOrCreate(path: string, flags: number, mode: number): Promise<FileHandle> {
    if (!this.strict) return open(path, flags | O_CREAT, mode);
    await assertNoUserLinks(dirname(path));
    try {
      const handle = await open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
      try {
        await this.checkStillAt(handle, path);
        if (this.owner && this.owner.uid !== 0) await handle.chown(this.owner.uid, this.owner.gid);
      } catch (error) {
        await handle.close();
        throw error;
      }
      return handle;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw this.explain(path, error);
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
    if (!this.strict) return open(path, flags);
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
    const allowed = new Set([0, this.owner?.uid ?? 0]);
    if (!allowed.has(info.uid)) throw new UnsafeFileError(path, `it belongs to uid ${info.uid}, not to root or uid ${this.owner?.uid ?? 0}`);
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

function defaultTempName(path: string): string {
  return `${path}.${randomBytes(6).toString("hex")}.tmp`;
}
