import { mkdir, readdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { join } from "node:path";
import { parseCidr } from "../../../shared/cidr.js";
import { FileGuard } from "../files/guarded-files.js";
import type { RouteRef } from "../root.js";

function keyOf(route: RouteRef): string {
  return `${route.profile}\u0000${route.destination.text}\u0000${route.gateway}`;
}

interface RecordFile {
  readonly writer: { readonly pid: number; readonly started: string };
  readonly uid: number;
  readonly routes: { readonly destination: string; readonly gateway: string; readonly profile: string }[];
}

const NAME = /^routes-(\d+)-([a-z0-9]+)\.json$/;
/** A record's temporary file, left when root was killed between writing and renaming it. */
const TEMP = /^routes-(\d+)-[a-z0-9]+\.json\.[0-9a-f]+\.tmp$/;

/**
 * The routes root added, recorded where only root can write: in memory for
 * the session, and in a file in root's runtime directory for the day root
 * itself dies. What a session takes back when its client goes, and what
 * cleanup takes back after a crash of both, never depends on the user's
 * tunnels.json (docs/security.md, "The root policy").
 */
export class OwnRoutes {
  private readonly routes = new Map<string, RouteRef>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    /** null: memory only (tests, and a root process without a runtime directory). */
    private readonly path: string | null,
    private readonly writer: { readonly pid: number; readonly started: string },
    private readonly uid: number,
  ) {}

  /** The record of one session of root process `writer`, in `runtimeDir`. */
  static in(runtimeDir: string, writer: { pid: number; started: string }, tag: string, uid: number): OwnRoutes {
    if (!/^[a-z0-9]+$/.test(tag)) throw new Error(`invalid record tag "${tag}"`);
    return new OwnRoutes(join(runtimeDir, `routes-${writer.pid}-${tag}.json`), writer, uid);
  }

  has(route: RouteRef): boolean {
    return this.routes.has(keyOf(route));
  }

  all(): RouteRef[] {
    return [...this.routes.values()];
  }

  /** Routes of one batch, in one write of the record. */
  async add(...routes: RouteRef[]): Promise<void> {
    const fresh = routes.filter((r) => !this.has(r));
    for (const r of fresh)
      this.routes.set(keyOf(r), { destination: r.destination, gateway: r.gateway, profile: r.profile });
    if (fresh.length > 0) await this.save();
  }

  async remove(...routes: RouteRef[]): Promise<void> {
    if (routes.filter((r) => this.routes.delete(keyOf(r))).length > 0) await this.save();
  }

  private save(): Promise<void> {
    const path = this.path;
    if (path === null) return Promise.resolve();
    const body: RecordFile = {
      writer: this.writer,
      uid: this.uid,
      routes: this.all().map((r) => ({ destination: r.destination.text, gateway: r.gateway, profile: r.profile })),
    };
    const write = async () => {
      if (body.routes.length === 0) return void (await rm(path, { force: true }));
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await FileGuard.strictFor({ uid: 0, gid: 0 }).replace(path, `${JSON.stringify(body)}\n`, { mode: 0o600 });
    };
    // The copy in memory is what this session acts on; a file that cannot be written (a full /run) costs only
    // the recovery after a crash of root itself, never a route the kernel and the registry already agree on.
    this.saving = this.saving.then(write, write).catch(() => undefined);
    return this.saving;
  }

  /** Records in `runtimeDir` whose root writer is dead, for this user: what a crashed helper had added. */
  static async orphans(
    runtimeDir: string,
    uid: number,
    isAlive: (pid: number, started: string) => Promise<boolean>,
  ): Promise<{ routes: RouteRef[]; forget: () => Promise<void> }[]> {
    const found: { routes: RouteRef[]; forget: () => Promise<void> }[] = [];
    for (const name of await readdir(runtimeDir).catch(() => [] as string[])) {
      const temp = TEMP.exec(name);
      if (temp && !(await isAlive(Number(temp[1]), ""))) await rm(join(runtimeDir, name), { force: true });
      if (!NAME.test(name)) continue;
      const path = join(runtimeDir, name);
      const text = await FileGuard.strictFor({ uid: 0, gid: 0 })
        .readText(path)
        .catch(() => null);
      let record: RecordFile;
      try {
        record = JSON.parse(text ?? "") as RecordFile;
      } catch {
        continue;
      }
      if (record.uid !== uid || (await isAlive(record.writer.pid, record.writer.started))) continue;
      const routes = record.routes.flatMap((r) => {
        try {
          return [{ destination: parseCidr(r.destination), gateway: r.gateway, profile: r.profile }];
        } catch {
          return [];
        }
      });
      found.push({ routes, forget: () => rm(path, { force: true }) });
    }
    return found;
  }
}
