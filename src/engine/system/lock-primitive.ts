import type { FileAccess } from "./file-access.js";

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
  tryLock(path: string, files: FileAccess): Promise<HeldLock | null>;
}
