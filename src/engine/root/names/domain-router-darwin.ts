import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import type { FileAccess } from "../../system/file-access.js";
import { FileGuard } from "../files/guarded-files.js";
import { DarwinLoopbackAliases } from "../loopback/loopback-aliases-darwin.js";
import { ResolverFiles } from "./dns-resolver-darwin.js";
import type { NamesOwner } from "./dns-resolver.js";
import { type DomainRouter, type RouterResult, WILDCARD_MARKER_PROFILE } from "./domain-router.js";
import { WildcardRecords } from "./wildcard-record.js";
import { markerWriterAlive } from "./writer-liveness.js";

export interface DarwinRouterOptions {
  readonly runner?: CommandRunner;
  readonly resolverDir?: string;
  /** How resolver files and the record are written: root's guarded writer, a test's plain one. */
  readonly files?: FileAccess;
  readonly isAlive?: (pid: number, started: string) => Promise<boolean>;
}

/**
 * macOS: the OS side of root's DNS responder (docs/architecture.md, "Ingress and Gateway names", "Wildcards"). The
 * responder's address as an lo0 alias (lo0 answers only 127.0.0.1 until one is added), and per wildcard domain a
 * resolver(5) file `/etc/resolver/<domain>` with `nameserver <address>`, written by the same writer as the cluster
 * domain's (dns-resolver-darwin.ts: our marker first, a file that is not ours never overwritten). A record in root's
 * runtime directory, written before the alias exists, lets cleanup take both back after a crash.
 */
export class DomainRouterDarwin implements DomainRouter {
  private readonly runner: CommandRunner;
  private readonly resolverDir: string;
  private readonly files: FileAccess;
  private readonly isAlive: (pid: number, started: string) => Promise<boolean>;
  private readonly records: WildcardRecords;
  /** One writer per domain written: each keeps its own file, so one refused domain leaves the others. */
  private readonly written = new Map<string, ResolverFiles>();
  private address: string | null = null;

  constructor(
    private readonly self: NamesOwner,
    runtimeDir: string,
    options: DarwinRouterOptions = {},
  ) {
    this.runner = options.runner ?? execFileRunner;
    this.resolverDir = options.resolverDir ?? "/etc/resolver";
    this.files = options.files ?? FileGuard.strictFor({ uid: 0, gid: 0 });
    this.isAlive = options.isAlive ?? markerWriterAlive;
    this.records = new WildcardRecords(self, runtimeDir, this.files);
  }

  async unavailable(): Promise<string | null> {
    return null;
  }

  /** Taken: another process recorded the link, or the address is on lo0 already (its alias is someone's). */
  async taken(link: string, address: string): Promise<boolean> {
    return (await this.records.takenByOther(link)) || (await this.onLoopback(address));
  }

  async claim(link: string, address: string): Promise<void> {
    await this.records.write(link, address);
    this.address = address;
    try {
      await new DarwinLoopbackAliases(this.runner).add(address);
    } catch (error) {
      await this.down(link);
      throw error;
    }
  }

  async up(_link: string, address: string, domains: readonly string[]): Promise<RouterResult> {
    for (const [domain, writer] of [...this.written])
      if (!domains.includes(domain)) {
        await writer.remove(WILDCARD_MARKER_PROFILE);
        this.written.delete(domain);
      }
    const refused = new Map<string, string>();
    const paths: string[] = [];
    for (const domain of domains) {
      const writer =
        this.written.get(domain) ?? new ResolverFiles(this.self, this.resolverDir, this.files, this.isAlive);
      try {
        await writer.apply({ profile: WILDCARD_MARKER_PROFILE, domain, server: address, gateway: "" });
        this.written.set(domain, writer);
        paths.push(writer.pathFor(domain));
      } catch (error) {
        refused.set(domain, (error as Error).message);
      }
    }
    const how = `DNS responder ${address}:53 (lo0 alias)${paths.length > 0 ? `, ${paths.join(" ")}` : ""}`;
    return { how, refused };
  }

  async down(_link: string): Promise<void> {
    const failures: string[] = [];
    for (const [domain, writer] of [...this.written]) {
      await writer.remove(WILDCARD_MARKER_PROFILE).catch((e: Error) => failures.push(e.message));
      this.written.delete(domain);
    }
    if (this.address !== null) {
      await new DarwinLoopbackAliases(this.runner).remove(this.address).catch((e: Error) => failures.push(e.message));
      this.address = null;
    }
    if (failures.length > 0) throw new Error(failures.join("; "));
    await this.records.remove();
  }

  /**
   * What a dead root process's responder left: its resolver files (its marker: that pid and start), then its alias
   * while lo0 still has it, then the record.
   */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    for (const record of await this.records.all()) {
      if (record.pid === this.self.pid || (await isAlive(record.pid, record.started))) continue;
      const itsOwn = async (pid: number, started: string) => !(pid === record.pid && started === record.started);
      removed.push(...(await new ResolverFiles(this.self, this.resolverDir, this.files).removeStale(itsOwn)));
      if (await this.onLoopback(record.address)) {
        await new DarwinLoopbackAliases(this.runner).remove(record.address);
        removed.push(`lo0 alias ${record.address} (wildcard names)`);
      }
      await record.forget();
    }
    return removed;
  }

  /** Whether lo0 carries the address: `ifconfig lo0` lists each as `inet A netmask M`. */
  private async onLoopback(address: string): Promise<boolean> {
    const shown = await this.runner.run("ifconfig", ["lo0"], { timeoutMs: 10_000 });
    if (shown.exitCode !== 0) throw new Error(`ifconfig lo0 failed: ${(shown.stderr || shown.stdout).trim()}`);
    return shown.stdout
      .split("\n")
      .some((line) => line.trim().split(/\s+/).slice(0, 2).join(" ") === `inet ${address}`);
  }
}
