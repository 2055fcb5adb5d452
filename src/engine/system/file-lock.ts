import type { FileGuard } from "./guarded-files.js";

/** An exclusive lock on a file, held until released or until this process exits (then the OS drops it). */
export interface HeldLock {
  readonly path: string;
  /** Writes a small marker into the lock file (who holds it); a no-op where the OS lock needs a read-only open. */
  describe(text: string): Promise<void>;
  release(): Promise<void>;
}

/** One implementation per OS: flock(2) on Linux and macOS, LockFileEx on Windows (what minikube's Go lock uses). */
export interface LockPrimitive {
  /** Takes the lock now, or answers null if another process holds it. */
  tryLock(path: string, guard: FileGuard): Promise<HeldLock | null>;
}

export class LockTimeoutError extends Error {
  constructor(readonly path: string, timeoutMs: number) {
    super(`could not lock ${path} within ${timeoutMs} ms: another process holds it`);
    this.name = "LockTimeoutError";
  }
}

let primitive: LockPrimitive | undefined;

export async function lockPrimitive(platform: NodeJS.Platform = process.platform): Promise<LockPrimitive> {
  if (primitive) return primitive;
  primitive = platform === "win32" ? new (await import("./file-lock-windows.js")).WindowsFileLock() : new (await import("./file-lock-posix.js")).PosixFileLock(platform);
  return primitive;
}

export async function tryLockFile(path: string, guard: FileGuard): Promise<HeldLock | null> {
  return (await lockPrimitive()).tryLock(path, guard);
}

/** Waits for the lock, polling with a growing pause: a holder that dies releases it at once, so no stale-lock rules are needed. */
export async function lockFile(path: string, guard: FileGuard, timeoutMs = 10_000): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
    const held = await tryLockFile(path, guard);
    if (held) return held;
    if (Date.now() >= deadline) throw new LockTimeoutError(path, timeoutMs);
    await new Promise((r) => setTimeout(r, pause));
  }
}
