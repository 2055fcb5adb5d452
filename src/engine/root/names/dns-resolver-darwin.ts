import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FileAccess } from "../../system/file-access.js";
import { FileGuard } from "../files/guarded-files.js";
import type { DnsResolver, NamesOwner, ProfileDns } from "./dns-resolver.js";
import { markerStarted } from "./hosts-block.js";
import { markerWriterAlive } from "./writer-liveness.js";

const MARKER = "# minikube-tunnel profile=";
const MARKER_LINE = /^# minikube-tunnel profile=(\S+) pid=(\d+) started=(\S*)\n/;

/**
 * macOS: `/etc/resolver/<domain>` (resolver(5)), as minikube tunnel writes it,
 * with `search_order` and `domain`, and a first line that marks it as ours. A
 * file there without our marker (minikube's, or the user's) is never
 * overwritten or removed.
 */
export class ResolverFiles implements DnsResolver {
  readonly kind = "resolver-file";
  private readonly written = new Map<string, string>();

  constructor(
    private readonly owner: NamesOwner,
    private readonly dir = "/etc/resolver",
    private readonly guard: FileAccess = FileGuard.strictFor({ uid: 0, gid: 0 }),
    private readonly isAlive: (pid: number, started: string) => Promise<boolean> = markerWriterAlive,
  ) {}

  async unavailable(): Promise<string | null> {
    return null;
  }

  pathFor(domain: string): string {
    return join(this.dir, domain);
  }

  /** This writer's file for the profile: one client never replaces or removes another's. */
  private ours(text: string | null, profile: string): boolean {
    const marker = text === null ? null : MARKER_LINE.exec(text);
    return (
      marker !== null &&
      marker[1] === profile &&
      Number(marker[2]) === this.owner.pid &&
      marker[3] === markerStarted(this.owner.started)
    );
  }

  async apply(dns: ProfileDns): Promise<string> {
    const path = this.pathFor(dns.domain);
    const existing = await readFile(path, "utf8").catch(() => null);
    const marker = existing === null ? null : MARKER_LINE.exec(existing);
    const deadWriters = marker !== null && !(await this.isAlive(Number(marker[2]), marker[3]!));
    if (existing !== null && !this.ours(existing, dns.profile) && !deadWriters) {
      throw new Error(
        `${path} exists and is not this tunnel's (another tunnel's, minikube tunnel's, or written by hand); leaving it alone`,
      );
    }
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await this.guard.replace(
      path,
      `${MARKER}${dns.profile} pid=${this.owner.pid} started=${markerStarted(this.owner.started)}\nnameserver ${dns.server}\nsearch_order 1\ndomain ${dns.domain}\n`,
      { mode: 0o644 },
    );
    this.written.set(dns.profile, path);
    return `${path} → ${dns.server}`;
  }

  async remove(profile: string): Promise<void> {
    const path = this.written.get(profile);
    if (!path) return;
    const text = await readFile(path, "utf8").catch(() => null);
    if (this.ours(text, profile)) await rm(path, { force: true });
    this.written.delete(profile);
  }

  /** Files of ours whose writer is gone (a crash of the tunnel and its helper). */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.dir).catch(() => [])) {
      const path = join(this.dir, name);
      const marker = MARKER_LINE.exec((await readFile(path, "utf8").catch(() => "")) ?? "");
      if (!marker || (await isAlive(Number(marker[2]), marker[3]!))) continue;
      await rm(path, { force: true });
      removed.push(path);
    }
    return removed;
  }
}
