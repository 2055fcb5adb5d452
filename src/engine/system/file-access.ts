import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { constants } from "node:fs";
import { type FileHandle, open, readFile, realpath, rename, unlink } from "node:fs/promises";

/** Text as UTF-8 (our own files), or byte for byte (a system file such as hosts, which may hold another code page). */
export type TextEncoding = "utf8" | "latin1";

export interface ReplaceOptions {
  readonly mode?: number;
  readonly encoding?: TextEncoding;
  readonly tempName?: (path: string) => string;
  /**
   * May veto the rename (the caller saw the file change and will try again); the answer is whether the file was
   * replaced.
   */
  readonly beforeRename?: () => Promise<boolean>;
}

/**
 * How a process reads and replaces files in a directory someone else may
 * control (MINIPATH, the user's temp dir, /etc). A normal user gets plain
 * files; root gets the guarded implementation in `root/files/guarded-files.ts`
 * (docs/security.md, "Files root opens in a user's directory"), handed to the
 * registry and the locks by whoever builds them as root.
 */
export interface FileAccess {
  /** True when links and foreign owners are refused (root on POSIX). */
  readonly strict: boolean;
  /** A whole text file; null when it does not exist. */
  readText(path: string, encoding?: TextEncoding): Promise<string | null>;
  /** Atomic replace: a new file beside it, renamed over it. */
  replace(path: string, data: string, options?: ReplaceOptions): Promise<boolean>;
  openForAppend(path: string, mode?: number): Promise<FileHandle>;
  openLockFile(path: string, mode?: number): Promise<FileHandle>;
  /** A small private file (a key), with its stat: callers check its mode. */
  readSecret(path: string, maxBytes?: number): Promise<{ text: string; info: Stats }>;
}

const rootOnPosix = () => process.platform !== "win32" && process.getuid?.() === 0;

function refuseAsRoot(path: string, isRoot: () => boolean): void {
  if (isRoot()) {
    throw new Error(
      `${path}: root opens files in other users' directories only through the guarded file access (root/files/guarded-files.ts), never with plain calls`,
    );
  }
}

/**
 * What a normal user (or Windows, where the guard has nothing to check)
 * does: plain calls, following the user's own links as minikube does. It
 * refuses to run as root on POSIX, so a caller that forgot to pass the
 * guarded access fails loudly instead of following a planted link.
 */
export class PlainFiles implements FileAccess {
  readonly strict = false;

  constructor(
    /**
     * Whether this process is root on POSIX (replaceable so a test run as root can exercise a normal user's behaviour).
     */
    private readonly isRoot: () => boolean = rootOnPosix,
  ) {}

  async readText(path: string, encoding: TextEncoding = "utf8"): Promise<string | null> {
    refuseAsRoot(path, this.isRoot);
    return readFile(path, encoding).catch((error: NodeJS.ErrnoException) =>
      error.code === "ENOENT" ? null : Promise.reject(error),
    );
  }

  async replace(path: string, data: string, options: ReplaceOptions = {}): Promise<boolean> {
    refuseAsRoot(path, this.isRoot);
    const target = await realpath(path).catch(() => path);
    const temp = (options.tempName ?? tempNameFor)(target);
    const handle = await open(temp, "wx", options.mode ?? 0o644);
    let renamed = false;
    try {
      await handle.writeFile(data, options.encoding ?? "utf8");
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

  async openForAppend(path: string, mode = 0o600): Promise<FileHandle> {
    refuseAsRoot(path, this.isRoot);
    return open(path, "a", mode);
  }

  async openLockFile(path: string, mode = 0o600): Promise<FileHandle> {
    refuseAsRoot(path, this.isRoot);
    // Read-write without truncating: another holder's marker stays until we hold the lock.
    return open(path, constants.O_RDWR | constants.O_CREAT, mode);
  }

  async readSecret(path: string, maxBytes = 4096): Promise<{ text: string; info: Stats }> {
    refuseAsRoot(path, this.isRoot);
    const handle = await open(path, "r");
    try {
      const info = await handle.stat();
      if (info.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`);
      return { text: await handle.readFile("utf8"), info };
    } finally {
      await handle.close();
    }
  }
}

export const plainFiles = new PlainFiles();

export function tempNameFor(path: string): string {
  return `${path}.${randomBytes(6).toString("hex")}.tmp`;
}
