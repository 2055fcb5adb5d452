import { type FileAccess, plainFiles } from "../../system/file-access.js";
import { FileGuard } from "../files/guarded-files.js";
import type { HostsEntry } from "../root.js";
import { type BlockOwner, blocksIn, sameOwner, withBlock } from "./hosts-block.js";
import { markerWriterAlive } from "./writer-liveness.js";

export function defaultHostsPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  return platform === "win32" ? `${env.SystemRoot ?? "C:\\Windows"}\\System32\\drivers\\etc\\hosts` : "/etc/hosts";
}

/**
 * The hosts file, changed only inside our marked blocks. Each change is an
 * atomic replace (a temporary file beside it, renamed over it) that keeps the
 * rest byte for byte, in whatever code page it is written (read and written
 * as Latin-1, which maps every byte to one character and back; our own lines
 * are ASCII), with the file's mode and owner. If the file changed while we
 * wrote, we read it again and redo the change, so another writer's edit is
 * never lost. A block belongs to its writer (profile, pid, start time): one
 * client replaces or removes only its own, and a dead writer's.
 */
export class HostsFile {
  constructor(
    readonly path: string = defaultHostsPath(),
    private readonly files: FileAccess = process.platform === "win32" ? plainFiles : FileGuard.strictFor({ uid: 0, gid: 0 }),
    private readonly isAlive: (pid: number, started: string) => Promise<boolean> = markerWriterAlive,
  ) {}

  private async read(): Promise<string> {
    return (await this.files.readText(this.path, "latin1")) ?? "";
  }

  async set(owner: BlockOwner, entries: readonly HostsEntry[] | null): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const text = await this.read();
      const dead = new Set<string>();
      for (const block of blocksIn(text)) if (block.profile === owner.profile && !sameOwner(block, owner) && !(await this.isAlive(block.pid, block.started))) dead.add(`${block.pid} ${block.started}`);
      const next = withBlock(text, owner, entries, (b) => dead.has(`${b.pid} ${b.started}`));
      if (next === text) return;
      const replaced = await this.files.replace(this.path, next, { encoding: "latin1", beforeRename: async () => (await this.read()) === text });
      if (replaced) return;
    }
    throw new Error(`${this.path} kept changing while it was being updated; left as it is`);
  }

  /** Our blocks whose writer is gone (a crash of the tunnel and its helper): removed, and named. */
  async removeStale(): Promise<string[]> {
    const removed: string[] = [];
    for (const block of blocksIn(await this.read())) {
      if (await this.isAlive(block.pid, block.started)) continue;
      await this.set(block, null);
      removed.push(block.profile);
    }
    return removed;
  }
}
