import { isTunnelProcessAlive, processStartTime } from "../../registry/process-liveness.js";
import { FileGuard } from "../files/guarded-files.js";
import { type BlockOwner, type HostsEntry, blocksIn, markerStarted, withBlock } from "./hosts-block.js";

export function defaultHostsPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  return platform === "win32" ? `${env.SystemRoot ?? "C:\\Windows"}\\System32\\drivers\\etc\\hosts` : "/etc/hosts";
}

/**
 * The hosts file, changed only inside our marked blocks. Each change is an
 * atomic replace (a temporary file beside it, renamed over it) that keeps the
 * rest byte for byte; if the file changed while we wrote, we read it again and
 * redo the change, so another writer's edit is never lost. As root, a hosts
 * file that is a link is refused rather than written through.
 */
export class HostsFile {
  constructor(
    readonly path: string = defaultHostsPath(),
    private readonly guard: FileGuard = process.platform === "win32" ? FileGuard.lenient() : FileGuard.strictFor({ uid: 0, gid: 0 }),
  ) {}

  async set(owner: BlockOwner, entries: readonly HostsEntry[] | null): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const text = (await this.guard.readText(this.path)) ?? "";
      const next = withBlock(text, owner, entries);
      if (next === text) return;
      const replaced = await this.guard.replace(this.path, next, { beforeRename: async () => ((await this.guard.readText(this.path)) ?? "") === text });
      if (replaced) return;
    }
    throw new Error(`${this.path} kept changing while it was being updated; left as it is`);
  }

  /** Our blocks whose writer is gone (a crash of the tunnel and its helper): removed, and named. */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean> = markerWriterAlive): Promise<string[]> {
    const text = (await this.guard.readText(this.path)) ?? "";
    const removed: string[] = [];
    for (const block of blocksIn(text)) {
      if (await isAlive(block.pid, block.started)) continue;
      await this.set(block, null);
      removed.push(block.profile);
    }
    return removed;
  }
}

/** Liveness of a marker's writer: the pid, and the start time as the marker spells it. */
export async function markerWriterAlive(pid: number, started: string): Promise<boolean> {
  if (!(await isTunnelProcessAlive(pid))) return false;
  if (started === "") return true;
  const current = await processStartTime(pid);
  return current === null || markerStarted(current) === started;
}
