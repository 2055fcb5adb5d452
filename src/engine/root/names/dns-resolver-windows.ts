import { isValidIp } from "../../../shared/cidr.js";
import { DNS_DOMAIN } from "../../../shared/dns-names.js";
import { isValidProfileName } from "../../../shared/profile-name.js";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import type { DnsResolver, NamesOwner, ProfileDns } from "./dns-resolver.js";
import { markerStarted } from "./hosts-block.js";

/** The comment that marks a rule as ours (and whose it is); we remove only rules that carry it. */
export function nrptComment(profile: string, owner: NamesOwner): string {
  return `minikube-tunnel profile=${profile} pid=${owner.pid} started=${markerStarted(owner.started)}`;
}

const COMMENT = /^minikube-tunnel profile=(\S+) pid=(\d+) started=(\S*)$/;

/**
 * Windows: a Name Resolution Policy Table rule for `.<domain>` pointing at the
 * cluster's DNS server, through PowerShell's DnsClient cmdlets
 * (Add-DnsClientNrptRule, Get-DnsClientNrptRule, Remove-DnsClientNrptRule).
 * Every value put into the script was validated first (an IP, a DNS domain, a
 * profile name), and the script is passed with -EncodedCommand, never through
 * a shell.
 */
export class NrptRules implements DnsResolver {
  readonly kind = "nrpt";

  constructor(
    private readonly owner: NamesOwner,
    private readonly runner: CommandRunner = execFileRunner,
  ) {}

  private async powershell(script: string): Promise<string> {
    const encoded = Buffer.from(script, "utf16le").toString("base64");
    const result = await this.runner.run(
      "powershell.exe",
      ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encoded],
      { timeoutMs: 30_000 },
    );
    if (result.exitCode !== 0)
      throw new Error(`PowerShell failed: ${(result.stderr || result.stdout).trim().split("\n")[0]}`);
    return result.stdout;
  }

  async unavailable(): Promise<string | null> {
    return null;
  }

  /** Rules of this writer for the profile: one client never removes another's. */
  static ownRules(profile: string, owner: NamesOwner): string {
    return `Get-DnsClientNrptRule | Where-Object { $_.Comment -like '${nrptComment(profile, owner)}' } | ForEach-Object { Remove-DnsClientNrptRule -Name $_.Name -Force }`;
  }

  static addScript(dns: ProfileDns, owner: NamesOwner): string {
    if (!isValidIp(dns.server) || !DNS_DOMAIN.test(dns.domain) || !isValidProfileName(dns.profile))
      throw new Error(`refusing an NRPT rule for "${dns.domain}" → "${dns.server}": not a valid domain and address`);
    return [
      `$ErrorActionPreference = 'Stop'`,
      NrptRules.ownRules(dns.profile, owner),
      `Add-DnsClientNrptRule -Namespace '.${dns.domain}' -NameServers '${dns.server}' -Comment '${nrptComment(dns.profile, owner)}'`,
    ].join("\n");
  }

  static removeScript(profile: string, owner: NamesOwner): string {
    if (!isValidProfileName(profile)) throw new Error(`invalid profile name "${profile}"`);
    return [`$ErrorActionPreference = 'Stop'`, NrptRules.ownRules(profile, owner)].join("\n");
  }

  /**
   * Rules under the marker `profile=<tag>` (a tag that is no profile's name: root's DNS responder, domain-router-
   * windows.ts): this owner's rules of that tag replaced by one per domain, each sent to `server`; none for [].
   */
  static domainsScript(tag: string, domains: readonly string[], server: string, owner: NamesOwner): string {
    if (!/^_[a-z]+$/.test(tag) || !isValidIp(server) || domains.some((d) => !DNS_DOMAIN.test(d)))
      throw new Error(
        `refusing NRPT rules for "${domains.join(", ")}" → "${server}": not valid domains and an address`,
      );
    return [
      `$ErrorActionPreference = 'Stop'`,
      NrptRules.ownRules(tag, owner),
      ...domains.map(
        (d) =>
          `Add-DnsClientNrptRule -Namespace '.${d}' -NameServers '${server}' -Comment '${nrptComment(tag, owner)}'`,
      ),
    ].join("\n");
  }

  /** See `domainsScript`; answers what was done. */
  async setDomains(tag: string, domains: readonly string[], server: string): Promise<string> {
    await this.powershell(NrptRules.domainsScript(tag, domains, server, this.owner));
    return domains.map((d) => `NRPT rule .${d} → ${server}`).join(", ");
  }

  async apply(dns: ProfileDns): Promise<string> {
    await this.powershell(NrptRules.addScript(dns, this.owner));
    return `NRPT rule .${dns.domain} → ${dns.server}`;
  }

  async remove(profile: string): Promise<void> {
    await this.powershell(NrptRules.removeScript(profile, this.owner));
  }

  /** Rules of ours whose writer is gone, listed by Get-DnsClientNrptRule as JSON, each removed by name. */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    const listed = await this.powershell(
      `Get-DnsClientNrptRule | Where-Object { $_.Comment -like 'minikube-tunnel *' } | Select-Object Name,Comment | ConvertTo-Json -Compress`,
    );
    const parsed =
      listed.trim() === ""
        ? []
        : (JSON.parse(listed) as { Name: string; Comment: string } | { Name: string; Comment: string }[]);
    const removed: string[] = [];
    for (const rule of Array.isArray(parsed) ? parsed : [parsed]) {
      const marker = COMMENT.exec(rule.Comment ?? "");
      if (!marker || !/^\{[0-9A-Fa-f-]{36}\}$/.test(rule.Name) || (await isAlive(Number(marker[2]), marker[3]!)))
        continue;
      await this.powershell(`$ErrorActionPreference = 'Stop'\nRemove-DnsClientNrptRule -Name '${rule.Name}' -Force`);
      removed.push(rule.Name);
    }
    return removed;
  }
}
