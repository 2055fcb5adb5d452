import { parse } from "tldts";
import { DNS_LABEL } from "../../../shared/dns-names.js";
import type { Allowances } from "./allowances.js";
import { PolicyError } from "./policy-error.js";

/**
 * Special-use names under a delegated top-level domain (RFC 8375's
 * home.arpa): private by definition though `arpa` is in the Public Suffix
 * List's ICANN section.
 */
const SPECIAL_UNDER_DELEGATED = ["home.arpa"];

function under(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * Whether a name belongs to the public DNS: its top-level domain is
 * delegated in the Public Suffix List's ICANN section (tldts, a maintained
 * copy of the list). `github.com` is not itself a public suffix, but it is a
 * public name; `cluster.local`, `shop.test`, `x.internal` and `x.home.arpa`
 * are not. An administrator may allow domains at install.
 */
export function isPublicName(name: string, allowances: Allowances): boolean {
  if (allowances.domains.some((d) => under(name, d))) return false;
  if (SPECIAL_UNDER_DELEGATED.some((d) => under(name, d))) return false;
  const tld = name.slice(name.lastIndexOf(".") + 1);
  return parse(tld, { allowPrivateDomains: false }).isIcann === true;
}

/**
 * Private names this machine's own software looks up: a cluster domain equal
 * to one of them, or above one, would take those lookups (RFC 8375's
 * home.arpa is the home network's; the clouds' metadata and instance names
 * live under these .internal domains).
 */
const MACHINE_DOMAINS = ["home.arpa", "google.internal", "ec2.internal", "compute.internal"];

/**
 * Top-level names a machine's own network uses without the public DNS: mDNS
 * (`.local`, every printer and Mac on the LAN), home routers (`.lan`,
 * `.home`), companies (`.corp`, `.internal`, `.intranet`, `.private`),
 * `localhost` and `localdomain`, and the special-use names of RFC 6761
 * and RFC 9476 that local tools answer (`.test` for Laravel Valet or
 * dnsmasq, `.alt`). A short `<svc>.<ns>` name is two labels, so a namespace
 * named after one of these would answer for such a name, for every user.
 */
const NETWORK_TLDS = new Set([
  "local",
  "lan",
  "home",
  "corp",
  "internal",
  "intranet",
  "private",
  "localhost",
  "localdomain",
  "test",
  "example",
  "invalid",
  "alt",
  "onion",
  "arpa",
]);

/**
 * First labels clients look up by themselves to find a proxy or a tunnel (WPAD, ISATAP): never answered from a cluster.
 */
const AUTOCONFIG_LABELS = new Set(["wpad", "isatap"]);

/** The domains this machine appends to short names (resolv.conf's search list). */
export interface MachineNames {
  readonly search: readonly string[];
}

export const NO_MACHINE_NAMES: MachineNames = { search: [] };

/**
 * A cluster domain root writes resolver settings and names for: never one
 * of the public DNS, never a single label (`local` is mDNS's, `lan` a
 * router's), never one this machine's own lookups go to (a cloud's
 * metadata domain, home.arpa, a search domain or a domain above one).
 */
export function checkClusterDomain(
  domain: string,
  allowances: Allowances,
  machine: MachineNames = NO_MACHINE_NAMES,
): string {
  if (!domain.split(".").every((l) => DNS_LABEL.test(l))) throw new PolicyError(`"${domain}" is not a DNS domain`);
  if (isPublicName(domain, allowances)) {
    throw new PolicyError(
      `cluster domain "${domain}" is in the public DNS (its top-level domain is delegated); root sets names only under private domains such as cluster.local, .test, .internal or .home.arpa, unless the administrator allowed "${domain}" when installing the helper`,
    );
  }
  if (allowances.domains.some((d) => under(domain, d))) return domain;
  if (!domain.includes("."))
    throw new PolicyError(
      `cluster domain "${domain}" is a whole top-level domain; root sets names only under a domain of at least two labels, such as cluster.local`,
    );
  const taken = [
    ...MACHINE_DOMAINS.map((d) => ({ d, what: "a domain this machine's own software looks up" })),
    ...machine.search.map((d) => ({ d, what: "one of this machine's search domains" })),
  ].find(({ d }) => under(d, domain));
  if (taken) throw new PolicyError(`cluster domain "${domain}" would take the lookups of ${taken.d}, ${taken.what}`);
  return domain;
}

/** Why root would not write `name` into the hosts file for a cluster of `domain`, or null when it would. */
export function hostNameRefusal(
  name: string,
  domain: string,
  allowances: Allowances,
  machine: MachineNames = NO_MACHINE_NAMES,
): string | null {
  const labels = name.split(".");
  if (!labels.every((l) => DNS_LABEL.test(l))) return "not a DNS name";
  const full = labels.length === 4 + domain.split(".").length - 1 && name.endsWith(`.svc.${domain}`);
  const short = labels.length === 2;
  if (!full && !short) return `not a cluster name (<svc>.<ns>.svc.${domain}, or <svc>.<ns>)`;
  if (isPublicName(name, allowances)) return "public name";
  if (short && NETWORK_TLDS.has(labels[1]!))
    return `would answer for ${name}, a name under .${labels[1]} that this machine's own network uses`;
  if (AUTOCONFIG_LABELS.has(labels[0]!))
    return `${labels[0]} is looked up by clients to configure themselves (proxy, tunnel)`;
  const search = short ? machine.search.find((d) => under(name, d) || under(labels[1]!, d)) : undefined;
  if (search) return `would answer for a name under this machine's search domain ${search}`;
  return null;
}

/**
 * Top-level names an Ingress or Gateway host may not sit under, named in the refusal because a user would recognise
 * them: those real devices and services of the local network answer (mDNS `.local`, a router's `.lan` and `.home`, a
 * company's `.corp`, `.intranet`, `.private`), `localhost` and `localdomain` (RFC 6761: always this machine), reverse
 * zones and home.arpa (`.arpa`), Tor (`.onion`), names that must never resolve (`.invalid`) and RFC 9476's non-DNS
 * namespaces (`.alt`).
 */
const INGRESS_CLOSED_TLDS = new Set([
  "local",
  "lan",
  "home",
  "corp",
  "intranet",
  "private",
  "localhost",
  "localdomain",
  "arpa",
  "onion",
  "invalid",
  "alt",
]);

/**
 * The only top-level names an Ingress or Gateway host may sit under without an administrator's word: RFC 2606 keeps
 * `.test` and `.example` out of the DNS for ever, so no network this machine joins can own a name there. Any other
 * private name (`.internal`, an undelegated `.k8s`) may be a VPN's split-DNS domain or a company's, which no file root
 * could read tells on every OS (resolved's per-link domains, macOS's scoped resolvers, Windows' NRPT and suffixes):
 * the hosts file would take it from every user of the machine. minikube's ingress-dns documents `.test`.
 */
const INGRESS_OPEN_TLDS = new Set(["test", "example"]);

/**
 * Why root would not write an Ingress or Gateway host of a profile whose cluster domain is `domain` into the hosts
 * file, or null when it would (docs/security.md, "The root policy"). Such a host is any name the cluster's user chose,
 * so the rule is what it may not take from everyone else on the machine: only names under `.test` and `.example`, or
 * under a domain the administrator allowed (which replaces only that rule); never a public name, one of this machine's
 * own domains or search domains, a name clients look up to configure themselves, or a name under a cluster domain
 * (`domain`, or `clusterDomains`: every one declared in this root process; their clusters' DNS answers those).
 */
export function ingressHostRefusal(
  name: string,
  domain: string,
  allowances: Allowances,
  machine: MachineNames = NO_MACHINE_NAMES,
  clusterDomains: readonly string[] = [],
): string | null {
  const labels = name.split(".");
  if (!labels.every((l) => DNS_LABEL.test(l))) return "not a DNS name";
  if (labels.length < 2) return "a single label; root writes only names of at least two labels";
  if (isPublicName(name, allowances)) return "public name";
  if (under(name, domain)) return `under the cluster domain ${domain}, which the cluster's DNS answers`;
  const cluster = clusterDomains.find((d) => under(name, d));
  if (cluster) return `under ${cluster}, a cluster domain declared to root, which that cluster's DNS answers`;
  // The administrator's word replaces only the top-level rule: an allowed company domain still keeps its proxy
  // autoconfiguration names, its search domains and the machine's own domains.
  const tld = labels[labels.length - 1]!;
  const allowed = allowances.domains.some((d) => under(name, d));
  if (!allowed && INGRESS_CLOSED_TLDS.has(tld)) return `a name under .${tld}, which this machine's own network uses`;
  const own = MACHINE_DOMAINS.find((d) => under(name, d));
  if (own) return `a name under ${own}, a domain this machine's own software looks up`;
  if (!allowed && !INGRESS_OPEN_TLDS.has(tld))
    return `not under .test or .example, the names kept for local use (others may be a VPN's or a company's; an administrator may allow a domain: mktunnel helper install --allow-domain)`;
  if (AUTOCONFIG_LABELS.has(labels[0]!))
    return `${labels[0]} is looked up by clients to configure themselves (proxy, tunnel)`;
  const search = machine.search.find((d) => under(name, d));
  if (search) return `would answer for a name under this machine's search domain ${search}`;
  return null;
}

/**
 * Why root's DNS responder would not answer a wildcard Ingress or Gateway name, or null when it would (docs/security.md,
 * "The root policy"): `*.` and a domain that passes `ingressHostRefusal` as an exact host would, of at least two labels
 * (`*.test` would take a whole top-level domain, `*.com` the world's). Its domain is never an allowed domain itself (the
 * wildcard would take all of it), nor above a search domain or a cluster domain: macOS's scoped resolvers and Windows'
 * NRPT send every name under the wildcard's domain to the responder, those below it too.
 */
export function wildcardRefusal(
  pattern: string,
  domain: string,
  allowances: Allowances,
  machine: MachineNames = NO_MACHINE_NAMES,
  clusterDomains: readonly string[] = [],
): string | null {
  if (!pattern.startsWith("*.")) return "not a wildcard (*.<domain>)";
  const rest = pattern.slice(2);
  if (!rest.split(".").every((l) => DNS_LABEL.test(l))) return "not a DNS name";
  if (!rest.includes("."))
    return `*.${rest} would take the whole top-level domain .${rest}; root answers wildcards only under a domain of at least two labels`;
  const allowed = allowances.domains.find((d) => d === rest);
  if (allowed)
    return `*.${rest} would take all of ${allowed}, the domain the administrator allowed; root answers wildcards only below it`;
  const search = machine.search.find((d) => under(d, rest));
  if (search) return `would answer for a name under this machine's search domain ${search}`;
  const cluster = [domain, ...clusterDomains].find((d) => under(d, rest));
  if (cluster) return `would take the names of ${cluster}, a cluster domain declared to root`;
  return ingressHostRefusal(rest, domain, allowances, machine, clusterDomains);
}
