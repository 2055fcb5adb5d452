import { containsCidr, parseCidr } from "../../../shared/cidr.js";
import { FORWARD_RANGE } from "../../../shared/forward-range.js";
import { PolicyError } from "./policy-error.js";

/** What a client declared for a profile: the only networks, node and domain root acts on for it. */
export interface DeclaredProfile {
  /** null in forward mode: no routes, only names and loopback addresses. */
  readonly nodeIp: string | null;
  /** Networks root routes for the profile. */
  readonly cidrs: ReadonlySet<string>;
  /** Networks declared that the fixed rules refuse, with why: their routes fail, the others go in. */
  readonly refused: ReadonlyMap<string, string>;
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
}

const forwardRange = parseCidr(FORWARD_RANGE);

/**
 * Forward mode's listeners and aliases stay inside its documented loopback range: never 127.0.0.1 or an address other
 * software uses.
 */
export function checkForwardAddress(address: string): void {
  if (!containsCidr(forwardRange, parseCidr(address)))
    throw new PolicyError(`${address} is outside forward mode's loopback range ${FORWARD_RANGE}`);
}

/**
 * Why a hosts entry may not point at `ip` for this profile, or null: a forward-mode address, or inside a declared
 * network.
 */
export function hostsAddressRefusal(ip: string, declaration: DeclaredProfile): string | null {
  const address = parseCidr(ip);
  if (containsCidr(forwardRange, address)) return null;
  if ([...declaration.cidrs].some((c) => containsCidr(parseCidr(c), address))) return null;
  return `${ip} is neither a forward-mode loopback address nor in a network declared for this profile`;
}

export function checkClusterDns(
  dns: { domain: string; server: string; gateway: string },
  declaration: DeclaredProfile,
): void {
  if (declaration.nodeIp === null || dns.gateway !== declaration.nodeIp)
    throw new PolicyError(
      `gateway ${dns.gateway} is not the profile's node ${declaration.nodeIp ?? "(none declared)"}`,
    );
  if (dns.domain !== declaration.clusterDomain)
    throw new PolicyError(`domain ${dns.domain} is not the profile's cluster domain ${declaration.clusterDomain}`);
  const server = parseCidr(dns.server);
  if (![...declaration.cidrs].some((c) => containsCidr(parseCidr(c), server)))
    throw new PolicyError(`DNS server ${dns.server} is not in a network declared for this profile`);
}
