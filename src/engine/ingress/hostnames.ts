import { isValidIp } from "../../shared/cidr.js";
import { DNS_LABEL } from "../../shared/dns-names.js";
import type { NameSource } from "./name-types.js";

/** A listener with no hostname: every name, as Gateway API's `*`. */
export const ANY_HOST = "*";

/**
 * A host name as Ingress and Gateway API take it (DNS labels, optionally a leading `*.` label), lower-cased and
 * without a trailing dot; null for anything else, IP addresses included (neither API allows them).
 */
export function normaliseHost(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const host = raw.trim().toLowerCase().replace(/\.$/, "");
  if (host.length === 0 || host.length > 253 || isValidIp(host)) return null;
  const labels = host.split(".");
  const rest = labels[0] === "*" ? labels.slice(1) : labels;
  if (rest.length === 0 || !rest.every((label) => DNS_LABEL.test(label))) return null;
  return host;
}

export function isWildcard(host: string): boolean {
  return host.startsWith("*.");
}

/**
 * Whether wildcard `pattern` (`*.example.com`) covers `name`, a precise name or another wildcard. Gateway API's
 * wildcard stands for one or more labels ("Hostnames in Gateway API"); an Ingress's for exactly one (the Ingress
 * API: "matches only a single label").
 */
export function wildcardCovers(pattern: string, name: string, reach: "one-label" | "one-or-more-labels"): boolean {
  if (!isWildcard(pattern)) return false;
  const suffix = pattern.slice(1); // ".example.com"
  const bare = isWildcard(name) ? name.slice(2) : name;
  if (!bare.endsWith(suffix) || bare.length === suffix.length) return false;
  if (reach === "one-or-more-labels") return true;
  // A wildcard name under a one-label pattern would need two labels: it is never covered.
  return !isWildcard(name) && !bare.slice(0, -suffix.length).includes(".");
}

/**
 * Gateway API's hostname intersection of a listener's hostname and one of a route's (`ANY_HOST` for an unset one):
 * the name traffic for both must be accepted under, or null when they do not intersect. From the spec's table:
 * `*.example.com` ∩ `sub.domain.example.com` = `sub.domain.example.com`, `www.example.com` ∩ `*.example.com` =
 * `www.example.com`, `*.com` ∩ `*.example.com` = `*.example.com`, `*` ∩ `*` = `*`.
 */
export function intersectHostnames(listener: string, route: string): string | null {
  if (listener === ANY_HOST) return route;
  if (route === ANY_HOST) return listener;
  if (listener === route) return listener;
  if (wildcardCovers(listener, route, "one-or-more-labels")) return route;
  if (wildcardCovers(route, listener, "one-or-more-labels")) return listener;
  return null;
}

/**
 * Whether a query for `name` is answered by a name of ours: the same name, or a wildcard that covers it the way its
 * source defines wildcards. For a DNS responder.
 */
export function hostMatches(entry: { readonly host: string; readonly source: NameSource }, name: string): boolean {
  const query = name.toLowerCase().replace(/\.$/, "");
  if (entry.host === query) return true;
  if (isWildcard(query)) return false;
  return wildcardCovers(entry.host, query, entry.source === "ingress" ? "one-label" : "one-or-more-labels");
}
