import { normaliseIp } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import type { HostsEntry, WildcardEntry } from "../root.js";
import type { Allowances } from "./allowances.js";
import { hostAddresses } from "./host-addresses.js";
import {
  type MachineNames,
  checkClusterDomain,
  hostNameRefusal,
  ingressHostRefusal,
  wildcardRefusal,
} from "./name-policy.js";
import { type DeclaredProfile, hostsAddressRefusal } from "./request-policy.js";
import { pathRefusal } from "./route-policy.js";

/** What root judges a names request by: the profile's declaration, the administrator's word, the machine's names. */
export interface NamesFacts {
  readonly declaration: DeclaredProfile;
  readonly allowances: Allowances;
  readonly machine: MachineNames;
  /** Every cluster domain declared in this root process, by any session's profile: no Ingress name or wildcard takes one. */
  readonly clusterDomains?: readonly string[];
  /** The kernel's table of the node's family, read only when an entry points at the node. */
  readonly kernel: () => Promise<readonly KernelRoute[]>;
}

export interface Judged<T> {
  readonly kept: T[];
  readonly dropped: { name: string; reason: string }[];
}

/** Why `nodeIp` is not a cluster node this machine reaches as one, or null (the path rules of routes and setDns). */
export async function nodeRefusal(
  nodeIp: string,
  kernel: readonly KernelRoute[],
  allowances: Allowances,
): Promise<string | null> {
  const own = (await hostAddresses(kernel)).find((a) => a.kind === "own" && a.address === normaliseIp(nodeIp));
  if (own) return `node IP ${nodeIp} is ${own.what}, not a cluster node`;
  return pathRefusal(nodeIp, kernel, { allowances });
}

/**
 * Where an Ingress or Gateway name may point: an Ingress host answers where its controller does, on the node itself
 * (hostPorts). The declaration alone does not make an address a node (it takes any address without networks), so the
 * node must pass what a route through it would: not this machine's own, not its gateway, behind a virtual link.
 */
async function addressJudge(facts: NamesFacts, ips: readonly string[]) {
  const { declaration } = facts;
  const atNode = (ip: string) => declaration.nodeIp !== null && normaliseIp(ip) === normaliseIp(declaration.nodeIp);
  const node = ips.some(atNode) ? await nodeRefusal(declaration.nodeIp!, await facts.kernel(), facts.allowances) : null;
  return (ip: string) => (atNode(ip) ? node : hostsAddressRefusal(ip, declaration));
}

/** A hosts request, judged name by name (docs/security.md, "The root policy"): one bad name drops that name only. */
export async function judgeHosts(entries: readonly HostsEntry[], facts: NamesFacts): Promise<Judged<HostsEntry>> {
  const { declaration, allowances, machine } = facts;
  const domain = declaration.clusterDomain;
  // A domain the resolver setting would refuse (a single label, the machine's own) gets no hosts names either.
  let domainRefusal: string | null = null;
  try {
    checkClusterDomain(domain, allowances, machine);
  } catch (error) {
    domainRefusal = (error as Error).message;
  }
  const ingress = (entry: HostsEntry) => entry.kind === "ingress";
  const address = await addressJudge(
    facts,
    entries.filter(ingress).map((e) => e.ip),
  );
  const kept: HostsEntry[] = [];
  const dropped: { name: string; reason: string }[] = [];
  for (const entry of entries) {
    // A Service entry never points at the node: only an Ingress host's controller answers there.
    const badAddress = ingress(entry) ? address(entry.ip) : hostsAddressRefusal(entry.ip, declaration);
    const allowed = entry.names.filter((name) => {
      const why =
        badAddress ??
        (ingress(entry)
          ? ingressHostRefusal(name, domain, allowances, machine, facts.clusterDomains)
          : (hostNameRefusal(name, domain, allowances, machine) ??
            (domainRefusal !== null && name.endsWith(`.${domain}`) ? domainRefusal : null)));
      if (why) dropped.push({ name, reason: why });
      return why === null;
    });
    if (allowed.length > 0) kept.push({ ip: entry.ip, names: allowed });
  }
  return { kept, dropped };
}

/** A wildcards request, judged pattern by pattern, by the rule of exact Ingress hosts and their addresses. */
export async function judgeWildcards(
  entries: readonly WildcardEntry[],
  facts: NamesFacts,
): Promise<Judged<WildcardEntry>> {
  const { declaration, allowances, machine } = facts;
  const address = await addressJudge(
    facts,
    entries.map((e) => e.ip),
  );
  const kept: WildcardEntry[] = [];
  const dropped: { name: string; reason: string }[] = [];
  for (const entry of entries) {
    const why =
      address(entry.ip) ??
      wildcardRefusal(entry.pattern, declaration.clusterDomain, allowances, machine, facts.clusterDomains);
    if (why) dropped.push({ name: entry.pattern, reason: why });
    else kept.push({ pattern: entry.pattern, ip: normaliseIp(entry.ip), reach: entry.reach });
  }
  return { kept, dropped };
}
