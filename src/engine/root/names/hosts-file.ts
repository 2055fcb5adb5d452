import { type FileAccess, plainFiles } from "../../system/file-access.js";
import { FileGuard } from "../files/guarded-files.js";
import { PolicyError } from "../policy/policy-error.js";
import type { HostsEntry } from "../root.js";
import { type BlockOwner, blocksIn, sameOwner, withBlock } from "./hosts-block.js";
import { markerWriterAlive } from "./writer-liveness.js";

export function defaultHostsPath(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return platform === "win32" ? `${env.SystemRoot ?? "C:\\Windows"}\\System32\\drivers\\etc\\hosts` : "/etc/hosts";
}

/**
 * The most the hosts file may hold after we add to it. Every program's
 * every name lookup reads it whole (glibc does even for `localhost`):
 * measured, 6.3 ms per lookup at 4 MiB against 9 µs for a stock file, and
 * its disk is the system's. A profile's largest block, 4096 Services
 * (names-writer.ts), is about 0.3 MiB (0.4 ms), so a dozen of them fit.
 */
export const MAX_HOSTS_FILE_BYTES = 4 * 1024 * 1024;

/**
 * One change at a time per file in this process: the check before the
 * rename and the rename are two steps, so two sessions of one helper
 * (or two profiles of one tunnel) could both pass the check and the second
 * rename drop the first one's block.
 */
const queues = new Map<string, Promise<unknown>>();

function oneAtATime<T>(path: string, work: () => Promise<T>): Promise<T> {
  const run = (queues.get(path) ?? Promise.resolve()).then(work, work);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(path, settled);
  void settled.then(() => {
    if (queues.get(path) === settled) queues.delete(path);
  });
  return run;
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
    private readonly files: FileAccess = process.platform === "win32"
      ? plainFiles
      : FileGuard.strictFor({ uid: 0, gid: 0 }),
    private readonly isAlive: (pid: number, started: string) => Promise<boolean> = markerWriterAlive,
  ) {}

  private async read(): Promise<string> {
    return (await this.files.readText(this.path, "latin1")) ?? "";
  }

  set(owner: BlockOwner, entries: readonly HostsEntry[] | null): Promise<void> {
    return oneAtATime(this.path, () => this.change(owner, entries));
  }

  private async change(owner: BlockOwner, entries: readonly HostsEntry[] | null): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const text = await this.read();
      const dead = new Set<string>();
      for (const block of blocksIn(text))
        if (
          block.profile === owner.profile &&
          !sameOwner(block, owner) &&
          !(await this.isAlive(block.pid, block.started))
        )
          dead.add(`${block.pid} ${block.started}`);
      const next = withBlock(text, owner, entries, (b) => dead.has(`${b.pid} ${b.started}`));
      if (next === text) return;
      // Latin-1: a length is a size in bytes. Only growth is refused: taking back or shrinking a block must still work
      // on a file someone else made big, or our block would be stranded there.
      if (next.length > MAX_HOSTS_FILE_BYTES && next.length > text.length) {
        throw new PolicyError(
          `refusing to write ${this.path}: with this block it would be ${next.length} bytes, over the 4 MiB (${MAX_HOSTS_FILE_BYTES} bytes) limit on the hosts file, which every name lookup on this machine reads; nothing was written`,
        );
      }
      const replaced = await this.files.replace(this.path, next, {
        encoding: "latin1",
        beforeRename: async () => (await this.read()) === text,
      });
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
