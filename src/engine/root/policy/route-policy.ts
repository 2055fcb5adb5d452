import { type Cidr, containsCidr, cidrsOverlap, normaliseIp, parseCidr } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import type { Allowances } from "./allowances.js";
import { PolicyError } from "./policy-error.js";
import { isVirtualLink } from "./node-links.js";
import { isTunnelLink } from "./vpn-links.js";

/** Networks root never routes, whoever asks: they would cut the machine off or hijack local traffic. */
const FORBIDDEN = [
  "0.0.0.0/8",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "255.255.255.255/32",
  "::/128",
  "::1/128",
  "fe80::/10",
  "ff00::/8",
].map((c) => parseCidr(c));

/**
 * Where a cluster's networks live: RFC 1918, shared address space
 * (RFC 6598, which minikube's drivers and Tailscale use) and IPv6 unique
 * local addresses (RFC 4193). A route to anything else (8.0.0.0/8, NAT64's
 * 64:ff9b::/96) would send every local user's traffic for a public address
 * to one user's node; an administrator may allow more at install.
 */
const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"].map((c) => parseCidr(c));

/** A blanket route (shorter than these) is never one of a cluster's networks. */
const MIN_PREFIX = { 4: 8, 6: 32 } as const;

/** Networks that are never a cluster's, whatever anyone allowed: blanket routes, loopback, link-local, multicast. */
export function checkNotBlanket(cidr: Cidr): Cidr {
  if (cidr.prefix < MIN_PREFIX[cidr.family])
    throw new PolicyError(`${cidr.text} is broader than /${MIN_PREFIX[cidr.family]}: refusing a blanket route`);
  const bad = FORBIDDEN.find((f) => cidrsOverlap(f, cidr));
  if (bad) throw new PolicyError(`${cidr.text} overlaps ${bad.text}, which is never routed to a cluster`);
  return cidr;
}

/** Why a network is outside what root routes (the private ranges, and what the administrator allowed), or null. */
export function publicNetworkRefusal(cidr: Cidr, allowances: Allowances): string | null {
  const allowed = [...PRIVATE, ...allowances.cidrs.map((c) => parseCidr(c))];
  if (allowed.some((range) => range.family === cidr.family && containsCidr(range, cidr))) return null;
  return `${cidr.text} is not a private network (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), and the administrator allowed no other (mktunnel helper install --allow-cidr)`;
}

/** The fixed rules for a network root routes to a node, or removes: for add, adoption and cleanup alike. */
export function checkRouteCidr(cidr: Cidr, allowances: Allowances): Cidr {
  checkNotBlanket(cidr);
  const why = publicNetworkRefusal(cidr, allowances);
  if (why) throw new PolicyError(why);
  return cidr;
}

export function checkGateway(nodeIp: string): void {
  const host = parseCidr(nodeIp);
  const bad = FORBIDDEN.find((f) => cidrsOverlap(f, host));
  if (bad) throw new PolicyError(`gateway ${nodeIp} lies in ${bad.text}`);
}

/** The on-link route the kernel reaches `address` by (longest prefix), if any. */
function linkOf(address: string, kernel: readonly KernelRoute[]): KernelRoute | undefined {
  const host = parseCidr(address);
  return kernel
    .filter(
      (r) =>
        r.destination.family === host.family &&
        r.destination.prefix > 0 &&
        containsCidr(r.destination, host) &&
        (r.gateway === null || r.gateway.startsWith("link#")),
    )
    .sort((a, b) => b.destination.prefix - a.destination.prefix)[0];
}

export interface PathFacts {
  /** The kernel route being adopted or removed, whose own link counts too. */
  readonly via?: KernelRoute;
  readonly platform?: NodeJS.Platform;
  /**
   * Networks the administrator allowed: a node inside one may sit on a physical link (minikube's ssh driver on a LAN
   * machine).
   */
  readonly allowances?: Allowances;
  /** Where Linux lists links (tests give a copy). */
  readonly sys?: string;
}

/**
 * A route through `gateway`, as the kernel would carry it: never through the
 * host's default gateway (a forged "cluster" route to the LAN router), never
 * on a VPN or tunnel link (a forged entry for the VPN's own network), and
 * only to a node the machine reaches directly over a virtual link (a bridge,
 * a veth, a VM's host-only network), as every minikube driver's node is.
 * The same rule judges an add, an adoption and a removal. null when allowed.
 */
export async function pathRefusal(
  gateway: string,
  kernel: readonly KernelRoute[],
  facts: PathFacts = {},
): Promise<string | null> {
  const platform = facts.platform ?? process.platform;
  const gw = normaliseIp(gateway);
  const defaults = kernel.filter(
    (r) => r.destination.prefix <= 1 && r.gateway !== null && !r.gateway.startsWith("link#"),
  );
  if (defaults.some((r) => normaliseIp(r.gateway!) === gw))
    return `${gateway} is this machine's default gateway, not a cluster node`;
  const link = linkOf(gateway, kernel)?.interface ?? null;
  for (const name of [facts.via?.interface ?? null, link]) {
    if (await isTunnelLink(name, platform, facts.sys))
      return `${gateway} is reached over ${name}, a VPN or tunnel link`;
  }
  const allowed = (facts.allowances?.cidrs ?? []).some((c) => containsCidr(parseCidr(c), parseCidr(gateway)));
  if (allowed || platform === "win32") return null;
  if (link === null) return `${gateway} is not on a link of this machine: a cluster node is reached directly`;
  if (!(await isVirtualLink(link, platform, facts.sys)))
    return `${gateway} is reached over ${link}, a physical network link, not a virtual one a local cluster node sits behind (an administrator may allow its network: --allow-cidr)`;
  return null;
}
