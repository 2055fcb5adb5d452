import koffi, { type LibraryHandle } from "koffi";
import type { FileAccess } from "./file-access.js";
import type { HeldLock, LockPrimitive } from "./lock-primitive.js";

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

function libcName(platform: NodeJS.Platform): string {
  if (platform === "darwin") return "/usr/lib/libSystem.B.dylib";
  return "libc.so.6";
}

/**
 * flock(2) through koffi: Node has no flock of its own. The lock belongs to
 * the open file description, so it is released when this process dies,
 * however it dies, and two opens in one process exclude each other too.
 */
export class PosixFileLock implements LockPrimitive {
  private readonly flock: (fd: number, operation: number) => number;

  constructor(platform: NodeJS.Platform) {
    let lib: LibraryHandle;
    try {
      lib = koffi.load(libcName(platform));
    } catch {
      // musl and other libcs: the generic soname.
      lib = koffi.load("libc.so");
    }
    this.flock = lib.func("int flock(int fd, int operation)") as (fd: number, operation: number) => number;
  }

  async tryLock(path: string, files: FileAccess): Promise<HeldLock | null> {
    const handle = await files.openLockFile(path);
    if (this.flock(handle.fd, LOCK_EX | LOCK_NB) !== 0) {
      const errno = koffi.errno();
      await handle.close();
      if (errno === koffi.os.errno.EWOULDBLOCK || errno === koffi.os.errno.EAGAIN) return null;
      throw new Error(`flock ${path} failed with errno ${errno}`);
    }
    let released = false;
    return {
      path,
      describe: async (text) => {
        await handle.truncate(0);
        await handle.write(text, 0, "utf8");
      },
      release: async () => {
        if (released) return;
        released = true;
        this.flock(handle.fd, LOCK_UN);
        await handle.close();
      },
    };
  }
}
