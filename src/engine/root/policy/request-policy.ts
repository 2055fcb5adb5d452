import { type Cidr, containsCidr, cidrsOverlap, parseCidr } from "../../../shared/cidr.js";
import { FORWARD_RANGE } from "../../access/forwards/loopback-range.js";

/** Networks the helper never routes, whoever asks: they would cut the machine off or hijack local traffic. */
const FORBIDDEN = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32", "::/128", "::1/128", "fe80::/10", "ff00::/8"].map((c) => parseCidr(c));

/** A blanket route (shorter than these) is never one of a cluster's networks. */
const MIN_PREFIX = { 4: 8, 6: 32 } as const;

export class PolicyError extends Error {}

export function checkDeclaredCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr.prefix < MIN_PREFIX[cidr.family]) throw new PolicyError(`${cidr.text} is broader than /${MIN_PREFIX[cidr.family]}: refusing a blanket route`);
  const bad = FORBIDDEN.find((f) => cidrsOverlap(f, cidr));
  if (bad) throw new PolicyError(`${cidr.text} overlaps ${bad.text}, which is never routed to a cluster`);
  return cidr;
}

export function checkGateway(nodeIp: string): void {
  const host = parseCidr(nodeIp);
  const bad = FORBIDDEN.find((f) => cidrsOverlap(f, host));
  if (bad) throw new PolicyError(`gateway ${nodeIp} lies in ${bad.text}`);
}

export interface Declaration {
  readonly nodeIp: string;
  readonly cidrs: ReadonlySet<string>;
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
}

const forwardRange = parseCidr(FORWARD_RANGE);

/** Forward mode's listeners and aliases stay inside its documented loopback range: never 127.0.0.1 or an address other software uses. */
export function checkForwardAddress(address: string): void {
  if (!containsCidr(forwardRange, parseCidr(address))) throw new PolicyError(`${address} is outside forward mode's loopback range ${FORWARD_RANGE}`);
}

/**
 * Top-level domains a short `<svc>.<ns>` name must not end in: a user may
 * name their cluster's Services on this machine, not take over public names
 * (`github.com`) for every user of it.
 */
const PUBLIC_TLDS = new Set(["com", "net", "org", "io", "dev", "app", "ai", "co", "me", "info", "biz", "edu", "gov", "mil", "int", "arpa", "cloud", "tech", "xyz", "online", "site", "page", "gle", "google", "microsoft", "apple", "amazon", "aws", "azure", "github", "de", "uk", "fr", "cn", "jp", "ru", "us", "eu", "ca", "au", "in", "nl", "br", "es", "it", "ch", "se", "no", "fi", "dk", "pl", "be", "at", "kr", "tw", "hk", "sg", "nz", "ie", "pt", "cz", "il", "mx", "ar", "za", "tr", "ua", "vn", "id", "th", "my", "ph"]);

export function checkHostsEntry(ip: string, names: readonly string[], domain: string, declaration: Declaration | undefined): void {
  const address = parseCidr(ip);
  const inForwardRange = containsCidr(forwardRange, address);
  const inDeclared = declaration !== undefined && [...declaration.cidrs].some((c) => containsCidr(parseCidr(c), address));
  if (!inForwardRange && !inDeclared) throw new PolicyError(`${ip} is neither a forward-mode loopback address nor in a network declared for this profile`);
  for (const name of names) {
    const labels = name.split(".");
    const full = name.endsWith(`.svc.${domain}`) && labels.length === 4 + domain.split(".").length - 1;
    const short = labels.length === 2 && !PUBLIC_TLDS.has(labels[1]!);
    if (!full && !short) throw new PolicyError(`"${name}" is not a cluster name (<svc>.<ns>.svc.${domain}, or <svc>.<ns> outside public top-level domains)`);
  }
}

export function checkClusterDns(dns: { domain: string; server: string; gateway: string }, declaration: Declaration | undefined): void {
  if (!declaration) throw new PolicyError("the profile was not declared");
  if (dns.gateway !== declaration.nodeIp) throw new PolicyError(`gateway ${dns.gateway} is not the profile's node ${declaration.nodeIp}`);
  if (dns.domain !== declaration.clusterDomain) throw new PolicyError(`domain ${dns.domain} is not the profile's cluster domain ${declaration.clusterDomain}`);
  const server = parseCidr(dns.server);
  if (![...declaration.cidrs].some((c) => containsCidr(parseCidr(c), server))) throw new PolicyError(`DNS server ${dns.server} is not in a network declared for this profile`);
}
