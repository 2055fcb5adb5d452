import { readFile } from "node:fs/promises";
import { isValidIp } from "../../../shared/cidr.js";

/** What this machine's resolver is set to: the servers it asks and the domains it appends to short names. */
export interface ResolverSettings {
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
}

/** systemd-resolved's stub: the servers it forwards to are in its own copy of resolv.conf. */
const RESOLVED_STUB = "127.0.0.53";
export const RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf";

/** resolv.conf(5): `nameserver` lines, and the last `search` or `domain` line. */
export function parseResolvConf(text: string): ResolverSettings {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const line of text.split("\n")) {
    const [keyword, ...values] = line.trim().split(/\s+/);
    if (keyword === "nameserver" && values[0]) {
      const address = values[0].split("%")[0]!;
      if (isValidIp(address)) nameservers.push(address);
    } else if (keyword === "search" || keyword === "domain") {
      search = values.map((v) => v.toLowerCase().replace(/\.$/, "")).filter((v) => v !== "" && v !== ".");
    }
  }
  return { nameservers, search };
}

/**
 * This machine's resolver settings (POSIX): /etc/resolv.conf, and behind
 * systemd-resolved's stub the upstream servers it forwards to. Windows:
 * none are read (docs/security.md, "Threat model").
 */
export async function readResolverSettings(
  platform: NodeJS.Platform = process.platform,
  etc = "/etc/resolv.conf",
  upstream = RESOLVED_UPSTREAM,
): Promise<ResolverSettings> {
  if (platform === "win32") return { nameservers: [], search: [] };
  const main = parseResolvConf(await readFile(etc, "utf8").catch(() => ""));
  if (!main.nameservers.includes(RESOLVED_STUB)) return main;
  const behind = parseResolvConf(await readFile(upstream, "utf8").catch(() => ""));
  return {
    nameservers: [...main.nameservers, ...behind.nameservers],
    search: [...new Set([...main.search, ...behind.search])],
  };
}
