import { rename, rmdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { type TunnelEntry, type TunnelEntryJson, entryFromJson, tunnelsFileSchema } from "../../shared/tunnel-entry.js";
import { lockFile } from "../system/file-lock.js";
import { type FileAccess, plainFiles } from "../system/file-access.js";

export class RegistryCorruptError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(
      `tunnel registry ${path} cannot be read: ${detail}. It was left untouched; move it aside or run "mktunnel registry reset" to back it up and start empty`,
    );
    this.name = "RegistryCorruptError";
  }
}

export type RegistryWriter = (
  path: string,
  data: string,
  files: FileAccess,
  beforeRename: () => Promise<boolean>,
) => Promise<boolean>;

const defaultWriter: RegistryWriter = (path, data, files, beforeRename) => files.replace(path, data, { beforeRename });

export interface RegistryFileOptions {
  /** Replaceable so tests can inject a failed write. */
  readonly write?: RegistryWriter;
  /** How long an empty or half-written file is re-read before it counts as unreadable (minikube writes in place). */
  readonly settleMs?: number;
  /**
   * How this process may touch files in MINIPATH: plain files for a normal
   * user (the default, which refuses to run as root), the guarded access for
   * root (`fileAccessFor` in root/, see docs/security.md).
   */
  readonly files?: FileAccess | Promise<FileAccess>;
  readonly lockTimeoutMs?: number;
}

export interface RegistryTransaction {
  read(): Promise<TunnelEntryJson[]>;
  update<T>(change: (entries: TunnelEntryJson[]) => { entries: TunnelEntryJson[]; result: T }): Promise<T>;
}

type Parsed =
  | { readonly kind: "ok"; readonly entries: TunnelEntryJson[] }
  | { readonly kind: "torn"; readonly detail: string }
  | { readonly kind: "bad"; readonly detail: string };

function parse(text: string): Parsed {
  if (text.trim() === "") return { kind: "torn", detail: "empty" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { kind: "torn", detail: `not valid JSON (${(error as Error).message})` };
  }
  const result = tunnelsFileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    return {
      kind: "bad",
      detail: `unexpected shape at ${issue?.path.join(".") || "top level"}: ${issue?.message ?? "invalid"}`,
    };
  }
  const entries = result.data ?? [];
  for (const [index, entry] of entries.entries()) {
    try {
      entryFromJson(entry);
    } catch (error) {
      return { kind: "bad", detail: `entry ${index}: ${(error as Error).message}` };
    }
  }
  return { kind: "ok", entries };
}

/**
 * MINIPATH/tunnels.json, shared with minikube (docs/architecture.md,
 * "Contracts"). Our writers hold an flock on `tunnels.json.lock` and
 * replace the file atomically. minikube writes it in place without a lock,
 * so a read that finds it empty or half-written is retried for `settleMs`,
 * and a write re-reads just before its rename so that entries another writer
 * added meanwhile are kept.
 */
export class RegistryFile {
  private readonly write: RegistryWriter;
  private readonly settleMs: number;
  private readonly filesPromise: Promise<FileAccess>;

  constructor(
    readonly path: string,
    private readonly options: RegistryFileOptions = {},
  ) {
    this.write = options.write ?? defaultWriter;
    this.settleMs = options.settleMs ?? 2000;
    this.filesPromise = Promise.resolve(options.files ?? plainFiles);
    // A rejected access (a link where MINIPATH should be) is reported at first use, not as an unhandled rejection.
    this.filesPromise.catch(() => undefined);
  }

  /** The file access this registry uses; the tunnel locks in MINIPATH use the same. */
  files(): Promise<FileAccess> {
    return this.filesPromise;
  }

  private async readText(): Promise<string | null> {
    return (await this.files()).readText(this.path);
  }

  /**
   * Reads and parses, waiting out a write in progress; returns the text too so a writer can tell whether it changed.
   */
  private async load(): Promise<{ text: string | null; entries: TunnelEntryJson[] }> {
    const deadline = Date.now() + this.settleMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const text = await this.readText();
      if (text === null) return { text, entries: [] };
      const parsed = parse(text);
      if (parsed.kind === "ok") return { text, entries: parsed.entries };
      if (parsed.kind === "bad") throw new RegistryCorruptError(this.path, parsed.detail);
      if (Date.now() >= deadline) {
        // An empty file that stays empty is an empty registry, as minikube reads it.
        if (text.trim() === "") return { text, entries: [] };
        throw new RegistryCorruptError(this.path, parsed.detail);
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  async readJson(): Promise<TunnelEntryJson[]> {
    return (await this.load()).entries;
  }

  async read(): Promise<TunnelEntry[]> {
    return (await this.readJson()).map(entryFromJson);
  }

  /**
   * Locked read-modify-write. `change` must be pure: it may run again on a
   * newer list when another writer changed the file meanwhile. If it throws,
   * nothing is written; returning the same array writes nothing either.
   */
  update<T>(change: (entries: TunnelEntryJson[]) => { entries: TunnelEntryJson[]; result: T }): Promise<T> {
    return this.locked((tx) => tx.update(change));
  }

  /** Holds the registry lock across several reads, writes and route commands (one batch). */
  async locked<T>(work: (tx: RegistryTransaction) => Promise<T>): Promise<T> {
    const files = await this.files();
    const tx: RegistryTransaction = {
      read: () => this.readJson(),
      update: (change) => this.lockedUpdate(files, change),
    };
    const lock = await this.lock(files).catch(async (error: unknown) => {
      // A new user's MINIPATH does not exist yet: no registry, so nothing to guard (minikube reads a missing
      // tunnels.json as empty). A write still fails, as it must: the folder is minikube's to make.
      if (!(await stat(dirname(this.path)).catch(() => null))) return null;
      throw error;
    });
    if (!lock) return work(tx);
    try {
      return await work(tx);
    } finally {
      await lock.release();
    }
  }

  private async lockedUpdate<T>(
    files: FileAccess,
    change: (entries: TunnelEntryJson[]) => { entries: TunnelEntryJson[]; result: T },
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const before = await this.load();
      const { entries, result } = change(before.entries);
      if (entries === before.entries) return result;
      // minikube does not lock: if it rewrote the file since we read it, apply our change again to what it wrote.
      const unchanged = async () => attempt >= 20 || (await this.readText()) === before.text;
      if (await this.write(this.path, `${JSON.stringify(entries)}\n`, files, unchanged)) return result;
    }
  }

  private async lock(files: FileAccess) {
    const lockPath = `${this.path}.lock`;
    // Version 0.1 locked with a directory of this name (proper-lockfile); an empty one left by a crash is in the way.
    if (!files.strict && (await stat(lockPath).catch(() => null))?.isDirectory())
      await rmdir(lockPath).catch(() => undefined);
    return lockFile(lockPath, files, this.options.lockTimeoutMs ?? 10_000);
  }
}

/**
 * Moves an unreadable registry aside (kept byte for byte) and starts an empty one. Only on the user's explicit request.
 */
export async function resetRegistry(registry: RegistryFile): Promise<string | null> {
  try {
    await registry.readJson();
    return null;
  } catch (error) {
    if (!(error instanceof RegistryCorruptError)) throw error;
  }
  const backup = `${registry.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await rename(registry.path, backup);
  await registry.update(() => ({ entries: [], result: undefined }));
  return backup;
}
