import type { CommandRunner } from "../../system/command-runner.js";
import type { DnsResolver, NamesOwner } from "./dns-resolver.js";
import { NrptRules } from "./dns-resolver-windows.js";
import { SystemdResolved } from "./dns-resolver-linux.js";
import { ResolverFiles } from "./dns-resolver-darwin.js";

export function dnsResolverFor(
  owner: NamesOwner,
  runtimeDir: string,
  platform: NodeJS.Platform = process.platform,
  runner?: CommandRunner,
  tag = "",
): DnsResolver {
  if (platform === "darwin") return new ResolverFiles(owner);
  if (platform === "win32") return new NrptRules(owner, runner);
  return new SystemdResolved(owner, runtimeDir, runner, tag);
}
