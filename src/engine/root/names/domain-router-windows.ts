import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import type { FileAccess } from "../../system/file-access.js";
import { plainFiles } from "../../system/file-access.js";
import { NrptRules } from "./dns-resolver-windows.js";
import type { NamesOwner } from "./dns-resolver.js";
import { type DomainRouter, type RouterResult, WILDCARD_MARKER_PROFILE } from "./domain-router.js";
import { WildcardRecords } from "./wildcard-record.js";

/**
 * Windows: the OS side of root's DNS responder (docs/architecture.md, "Ingress and Gateway names", "Wildcards"). One
 * Name Resolution Policy Table rule per wildcard domain (`.shop.test` → the responder's address), through the same
 * writer as the cluster domain's rule (dns-resolver-windows.ts), under our comment marker with the profile field
 * `_wildcards`. Windows answers every 127/8 address without an alias. A record in root's runtime directory, written
 * before the first rule, lets cleanup take the rules back after a crash.
 */
export class DomainRouterWindows implements DomainRouter {
  private readonly nrpt: NrptRules;
  private readonly records: WildcardRecords;
  private ruled = false;

  constructor(
    self: NamesOwner,
    runtimeDir: string,
    private readonly runner: CommandRunner = execFileRunner,
    files: FileAccess = plainFiles,
  ) {
    this.nrpt = new NrptRules(self, runner);
    this.records = new WildcardRecords(self, runtimeDir, files);
  }

  async unavailable(): Promise<string | null> {
    return null;
  }

  /** A record of another root process (alive, or dead and not cleaned up yet) names the link. */
  taken(link: string): Promise<boolean> {
    return this.records.takenByOther(link);
  }

  async claim(link: string, address: string): Promise<void> {
    await this.records.write(link, address);
  }

  async up(_link: string, address: string, domains: readonly string[]): Promise<RouterResult> {
    this.ruled = true;
    return {
      how: `DNS responder ${address}:53, ${await this.nrpt.setDomains(WILDCARD_MARKER_PROFILE, domains, address)}`,
    };
  }

  async down(_link: string): Promise<void> {
    if (this.ruled) await this.nrpt.setDomains(WILDCARD_MARKER_PROFILE, [], "127.0.0.1");
    this.ruled = false;
    await this.records.remove();
  }

  /** Rules a dead root process's responder left (its marker: that pid and start), then its record. */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    const removed: string[] = [];
    for (const record of await this.records.all()) {
      if (await isAlive(record.pid, record.started)) continue;
      const itsOwn = async (pid: number, started: string) => !(pid === record.pid && started === record.started);
      const rules = await this.nrpt.removeStale(itsOwn);
      removed.push(...rules.map((r) => `NRPT rule ${r} (wildcard names)`));
      await record.forget();
    }
    return removed;
  }
}
