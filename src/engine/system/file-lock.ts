import type { FileAccess } from "./file-access.js";
import type { HeldLock, LockPrimitive } from "./lock-primitive.js";

export type { HeldLock, LockPrimitive } from "./lock-primitive.js";

export class LockTimeoutError extends Error {
  constructor(
    readonly path: string,
    timeoutMs: number,
  ) {
    super(`could not lock ${path} within ${timeoutMs} ms: another process holds it`);
    this.name = "LockTimeoutError";
  }
}

let primitive: LockPrimitive | undefined;

export async function lockPrimitive(platform: NodeJS.Platform = process.platform): Promise<LockPrimitive> {
  if (primitive) return primitive;
  primitive =
    platform === "win32"
      ? new (await import("./file-lock-windows.js")).WindowsFileLock()
      : new (await import("./file-lock-posix.js")).PosixFileLock(platform);
  return primitive;
}

export async function tryLockFile(path: string, files: FileAccess): Promise<HeldLock | null> {
  return (await lockPrimitive()).tryLock(path, files);
}

/**
 * Waits for the lock, polling with a growing pause: a holder that dies releases it at once, so no stale-lock rules are
 * needed.
 */
export async function lockFile(path: string, files: FileAccess, timeoutMs = 10_000): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
    const held = await tryLockFile(path, files);
    if (held) return held;
    if (Date.now() >= deadline) throw new LockTimeoutError(path, timeoutMs);
    await new Promise((r) => setTimeout(r, pause));
  }
}
