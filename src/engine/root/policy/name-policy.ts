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

/** A cluster domain root writes resolver settings and names for: never one of the public DNS. */
export function checkClusterDomain(domain: string, allowances: Allowances): string {
  if (!domain.split(".").every((l) => DNS_LABEL.test(l))) throw new PolicyError(`"${domain}" is not a DNS domain`);
  if (isPublicName(domain, allowances)) {
    throw new PolicyError(`cluster domain "${domain}" is in the public DNS (its top-level domain is delegated); root sets names only under private domains such as cluster.local, .test, .internal or .home.arpa, unless the administrator allowed "${domain}" when installing the helper`);
  }
  return domain;
}

/** Why root would not write `name` into the hosts file for a cluster of `domain`, or null when it would. */
export function hostNameRefusal(name: string, domain: string, allowances: Allowances): string | null {
  const labels = name.split(".");
  if (!labels.every((l) => DNS_LABEL.test(l))) return "not a DNS name";
  const full = labels.length === 4 + domain.split(".").length - 1 && name.endsWith(`.svc.${domain}`);
  const short = labels.length === 2;
  if (!full && !short) return `not a cluster name (<svc>.<ns>.svc.${domain}, or <svc>.<ns>)`;
  if (isPublicName(name, allowances)) return "public name";
  return null;
}
