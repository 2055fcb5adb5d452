import { networkInterfaces } from "node:os";
import { type Cidr, containsCidr, isValidIp, normaliseIp, parseCidr } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { readResolverSettings } from "./resolv-conf.js";

/** An address this machine depends on, and what it is. */
export interface HostAddress {
  readonly address: string;
  readonly kind: "own" | "resolver" | "gateway";
  readonly what: string;
}

/**
 * What a cluster route must never contain: this machine's own addresses,
 * its DNS servers and its default gateways. A route to a network holding
 * the resolver would send every local user's lookups to one user's node
 * (the on-link and default routes do not protect a resolver reached
 * through the default gateway).
 */
export async function hostAddresses(
  kernel: readonly KernelRoute[],
  resolvers: Promise<readonly string[]> = readResolverSettings().then((s) => s.nameservers),
): Promise<HostAddress[]> {
  const found: HostAddress[] = [];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const a of addresses ?? [])
      if (!a.internal)
        found.push({
          address: normaliseIp(a.address.split("%")[0]!),
          kind: "own",
          what: `this machine's address on ${name}`,
        });
  }
  for (const address of await resolvers)
    found.push({ address: normaliseIp(address), kind: "resolver", what: "this machine's DNS server" });
  for (const r of kernel) {
    if (r.destination.prefix <= 1 && r.gateway !== null && isValidIp(r.gateway))
      found.push({ address: normaliseIp(r.gateway), kind: "gateway", what: "this machine's default gateway" });
  }
  return found;
}

/** Why `cidr` may not be routed to a node (it holds one of `addresses`), or null. */
export function hostAddressRefusal(cidr: Cidr, addresses: readonly HostAddress[]): string | null {
  const hit = addresses.find((a) => {
    const host = parseCidr(a.address);
    return host.family === cidr.family && containsCidr(cidr, host);
  });
  return hit ? `${cidr.text} contains ${hit.address}, ${hit.what}` : null;
}
