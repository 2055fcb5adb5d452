import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { FileGuard } from "../files/guarded-files.js";
import type { FileAccess } from "../../system/file-access.js";
import type { NamesOwner } from "./dns-resolver.js";
import { isResponderCandidate } from "./domain-router.js";

const RECORD = /^wildcards-(\d+)\.json$/;

/** What a root process's DNS responder set up, as cleanup finds it after a crash. */
export interface WildcardRecord {
  readonly pid: number;
  readonly started: string;
  readonly link: string;
  readonly address: string;
}

/**
 * The record `wildcards-<pid>.json` in root's runtime directory, written before the OS side of the responder exists
 * (docs/architecture.md, "Ingress and Gateway names", "Wildcards"): a crash between the two still leaves something
 * cleanup can find. Every platform's router (domain-router-linux|darwin|windows.ts) keeps it here.
 */
export class WildcardRecords {
  readonly path: string;

  constructor(
    private readonly self: NamesOwner,
    private readonly runtimeDir: string,
    private readonly files: FileAccess = FileGuard.strictFor({ uid: 0, gid: 0 }),
  ) {
    this.path = join(runtimeDir, `wildcards-${self.pid}.json`);
  }

  async write(link: string, address: string): Promise<void> {
    await mkdir(this.runtimeDir, { recursive: true, mode: 0o755 });
    const record = { started: this.self.started, link, address };
    await this.files.replace(this.path, `${JSON.stringify(record)}\n`, { mode: 0o644 });
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }

  /** Every record of a responder (this process's too), with a link name of ours. */
  async all(): Promise<(WildcardRecord & { forget: () => Promise<void> })[]> {
    const found: (WildcardRecord & { forget: () => Promise<void> })[] = [];
    for (const file of await readdir(this.runtimeDir).catch(() => [] as string[])) {
      const match = RECORD.exec(file);
      if (!match) continue;
      const path = join(this.runtimeDir, file);
      const parsed = parseRecord(await readFile(path, "utf8").catch(() => ""));
      if (!parsed) continue;
      found.push({ ...parsed, pid: Number(match[1]), forget: () => rm(path, { force: true }) });
    }
    return found;
  }

  /** Whether another root process (alive, or dead and not yet cleaned up) recorded this link. */
  async takenByOther(link: string): Promise<boolean> {
    return (await this.all()).some((r) => r.link === link && r.pid !== this.self.pid);
  }
}

/**
 * A record's fields, or null for one that is unreadable (a file that is not JSON leaves the others to be found) or
 * names a link or address that is not a responder's own (domain-router.ts): cleanup deletes a link or an lo0 alias by
 * what a record says, and must never be led to another.
 */
function parseRecord(text: string): Omit<WildcardRecord, "pid"> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { started, link, address } = value as Record<string, unknown>;
  if (typeof started !== "string" || !isResponderCandidate(link, address)) return null;
  return { started, link: link as string, address: address as string };
}
