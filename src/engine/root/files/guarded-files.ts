import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute } from "node:path";
import {
  type FileAccess,
  type ReplaceOptions,
  type TextEncoding,
  plainFiles,
  tempNameFor,
} from "../../system/file-access.js";
import { O_NOFOLLOW, O_NONBLOCK, UnsafeFileError, type WorkDir, assertNoUserLinks, workDir } from "./directory-walk.js";

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND } = constants;

export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
}

const MAX_READ_BYTES = 16 * 1024 * 1024;

function isRootProcess(): boolean {
  return process.platform !== "win32" && process.getuid?.() === 0;
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
