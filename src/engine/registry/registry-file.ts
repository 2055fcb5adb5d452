import { readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import lockfile from "proper-lockfile";
import writeFileAtomic from "write-file-atomic";
import { type TunnelEntry, type TunnelEntryJson, entryFromJson, tunnelsFileSchema } from "../../shared/tunnel-entry.js";

export class RegistryCorruptError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`tunnel registry ${path} cannot be read: ${detail}. It was left untouched; move it aside or run "mktunnel registry reset" to back it up and start empty`);
    this.name = "RegistryCorruptError";
  }
}

export type AtomicWriter = (path: string, data: string, owner: { uid: number; gid: number } | undefined) => Promise<void>;

const defaultWriter: AtomicWriter = (path, data, owner) =>
  writeFileAtomic(path, data, { fsync: true, mode: 0o644, ...(owner ? { chown: owner } : {}) });

export interface RegistryFileOptions {
  /** Replaceable so tests can inject a failed write. */
  readonly write?: AtomicWriter;
}

/**
 * MINIPATH/tunnels.json (DESIGN §3.2). Readers take no lock, which is safe
 * because writers only ever rename a complete file into place. Writers hold
 * `tunnels.json.lock` for the whole read-modify-write.
 */
export class RegistryFile {
  private readonly write: AtomicWriter;

  constructor(
    readonly path: string,
    options: RegistryFileOptions = {},
  ) {
    this.write = options.write ?? defaultWriter;
  }

  async readJson(): Promise<TunnelEntryJson[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    if (text.trim() === "") return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RegistryCorruptError(this.path, `not valid JSON (${(error as Error).message})`);
    }
    const result = tunnelsFileSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new RegistryCorruptError(this.path, `unexpected shape at ${issue?.path.join(".") || "top level"}: ${issue?.message ?? "invalid"}`);
    }
    const entries = result.data ?? [];
    entries.forEach((entry, index) => {
      try {
        entryFromJson(entry);
      } catch (error) {
        throw new RegistryCorruptError(this.path, `entry ${index}: ${(error as Error).message}`);
      }
    });
    return entries;
  }

  async read(): Promise<TunnelEntry[]> {
    return (await this.readJson()).map(entryFromJson);
  }

  /**
   * Locked read-modify-write. `change` returns the new list and a result; if it
   * throws, nothing is written. The file keeps the owner of its directory, so a
   * root helper does not leave a root-owned file in the user's MINIPATH.
   */
  async update<T>(change: (entries: TunnelEntryJson[]) => Promise<{ entries: TunnelEntryJson[]; result: T }>): Promise<T> {
    const release = await lockfile.lock(this.path, {
      realpath: false,
      lockfilePath: `${this.path}.lock`,
      stale: 10_000,
      retries: { retries: 400, minTimeout: 2, maxTimeout: 50, factor: 1.3, randomize: true },
    });
    try {
      const before = await this.readJson();
      const { entries, result } = await change(before);
      if (entries !== before) await this.write(this.path, `${JSON.stringify(entries)}\n`, await this.directoryOwner());
      return result;
    } finally {
      await release();
    }
  }

  private async directoryOwner(): Promise<{ uid: number; gid: number } | undefined> {
    if (process.platform === "win32" || process.getuid?.() !== 0) return undefined;
    const info = await stat(dirname(this.path));
    return { uid: info.uid, gid: info.gid };
  }
}

/** Moves an unreadable registry aside (kept byte for byte) and starts an empty one. Only on the user's explicit request. */
export async function resetRegistry(registry: RegistryFile): Promise<string | null> {
  const { rename } = await import("node:fs/promises");
  try {
    await registry.readJson();
    return null;
  } catch (error) {
    if (!(error instanceof RegistryCorruptError)) throw error;
  }
  const backup = `${registry.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await rename(registry.path, backup);
  await registry.update(async () => ({ entries: [], result: undefined }));
  return backup;
}
