import { HOST_NAME } from "../../../shared/dns-names.js";
import { firstPerHost } from "../../ingress/cluster-names.js";
import type { HostEntry, IngressNames } from "../../ingress/name-types.js";
import type { HostsEntry, WildcardEntry } from "../../root/index.js";
import type { AccessSnapshot, ForwardState, IngressNameStatus } from "../cluster-access.js";

/**
 * Where one of the cluster's Ingress or Gateway names answers on this machine, as the access mode reaches it (route
 * mode: the address itself; forward mode: a loopback address of ours); or nowhere, with why.
 */
export type Placement = { readonly ip: string } | { readonly ip: null; readonly reason: string };

/** Whether a name is on this machine (ProfileNames knows: root wrote it, refused it, or names are off). */
export type NameOutcome = { readonly mapped: true } | { readonly mapped: false; readonly reason: string };

/** What goes to root for a profile's Ingress and Gateway names. */
export interface IngressRequest {
  /** Exact names, as hosts-file lines of their own kind (root judges them by the Ingress-host rule). */
  readonly hosts: readonly HostsEntry[];
  readonly wildcards: readonly WildcardEntry[];
}

/** A hosts line holds at most this many names (the helper protocol's limit), so one address may take several. */
const NAMES_PER_LINE = 4;

/**
 * The names root is asked to write: one per host (the oldest object's, Gateway API's conflict rule), at the place
 * the mode gives. A host that is a single label never goes (no hosts line is for it, and the request schema refuses
 * it): `ingressStatuses` says why.
 */
export function ingressRequest(names: IngressNames, place: (entry: HostEntry) => Placement): IngressRequest {
  const byIp = new Map<string, string[]>();
  const wildcards: WildcardEntry[] = [];
  for (const entry of firstPerHost(names.entries)) {
    const at = place(entry);
    if (at.ip === null) continue;
    if (entry.wildcard)
      wildcards.push({
        pattern: entry.host,
        ip: at.ip,
        reach: entry.source === "ingress" ? "one-label" : "one-or-more-labels",
      });
    else if (HOST_NAME.test(entry.host)) byIp.set(at.ip, [...(byIp.get(at.ip) ?? []), entry.host]);
  }
  const hosts: HostsEntry[] = [];
  for (const [ip, all] of [...byIp].sort(([a], [b]) => a.localeCompare(b)))
    for (let i = 0; i < all.length; i += NAMES_PER_LINE)
      hosts.push({ ip, names: all.slice(i, i + NAMES_PER_LINE), kind: "ingress" });
  return { hosts, wildcards };
}

/** The `curl --resolve` line that reaches a name without the hosts file. */
export function curlResolveLine(status: Pick<IngressNameStatus, "host" | "address" | "ports">): string | null {
  if (status.address === null || status.host.startsWith("*.")) return null;
  const port = status.ports.find((p) => p.protocol === "http") ?? status.ports[0];
  if (!port) return null;
  const scheme = port.protocol === "http" ? "http" : "https";
  const address = status.address.includes(":") ? `[${status.address}]` : status.address;
  const url = `${scheme}://${status.host}${port.port === (scheme === "http" ? 80 : 443) ? "" : `:${port.port}`}/`;
  return `curl --resolve ${status.host}:${port.port}:${address} ${url}`;
}

/**
 * Every name the cluster defines, as the window and `status --json` show it: mapped at its address, or why not (no
 * controller answers; an older object has the host; root refused it; names are off). `portState` gives forward
 * mode's listener of a port.
 */
export function ingressStatuses(
  names: IngressNames,
  place: (entry: HostEntry) => Placement,
  outcome: (host: string, wildcard: boolean) => NameOutcome,
  portState?: (ip: string, port: number) => { state: ForwardState; error?: string } | undefined,
): Required<Pick<AccessSnapshot, "ingresses" | "gateways">> {
  const winners = new Map(firstPerHost(names.entries).map((e) => [e.host, e]));
  const all: (IngressNameStatus & { source: HostEntry["source"] })[] = [];
  for (const entry of names.entries) {
    const at = place(entry);
    const winner = winners.get(entry.host)!;
    const why =
      winner !== entry
        ? { mapped: false as const, reason: `${entry.host} goes to ${winner.source} ${winner.object}, the oldest` }
        : at.ip === null
          ? { mapped: false as const, reason: at.reason }
          : !entry.wildcard && !HOST_NAME.test(entry.host)
            ? { mapped: false as const, reason: "a single label; the hosts file holds only names of two or more" }
            : outcome(entry.host, entry.wildcard);
    all.push({
      source: entry.source,
      host: entry.host,
      object: entry.object,
      address: at.ip,
      ports: entry.address.ports.map((p) => {
        const listener = at.ip !== null ? portState?.(at.ip, p.port) : undefined;
        return { port: p.port, protocol: p.protocol, ...(listener ?? {}) };
      }),
      mapped: why.mapped,
      ...(why.mapped ? {} : { reason: why.reason }),
      ...(entry.wildcard ? { wildcard: true as const } : {}),
      ...(entry.via && entry.via.length > 0 ? { via: entry.via } : {}),
    });
  }
  for (const u of names.unmapped)
    all.push({
      source: u.source,
      host: u.host,
      object: u.object,
      address: null,
      ports: [],
      mapped: false,
      reason: u.reason,
      ...(u.wildcard ? { wildcard: true as const } : {}),
    });
  all.sort((a, b) => a.host.localeCompare(b.host) || a.object.localeCompare(b.object));
  const strip = ({ source: _source, ...status }: (typeof all)[number]): IngressNameStatus => status;
  return {
    ingresses: all.filter((s) => s.source === "ingress").map(strip),
    gateways: all.filter((s) => s.source === "gateway").map(strip),
  };
}
