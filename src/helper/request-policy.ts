import { type Cidr, containsCidr, cidrsOverlap, parseCidr } from "../shared/cidr.js";
import { FORWARD_RANGE } from "../engine/access/forwards/loopback-range.js";

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
