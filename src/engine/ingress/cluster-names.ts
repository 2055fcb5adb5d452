import type { IngressControllerKind } from "./controller-catalog.js";
import { type GatewayInputs, gatewayNames } from "./gateway-mapping.js";
import { type IngressInputs, type Sourced, ingressNames } from "./ingress-mapping.js";
import type { HostEntry, IngressNames, NameAddress, UnmappedName } from "./name-types.js";

/** Everything the mapping reads: the watched objects, as views. */
export interface ClusterObjects extends Omit<IngressInputs, "catalog" | "services"> {
  readonly controllerServices: IngressInputs["services"];
  readonly gateways: GatewayInputs["gateways"];
  readonly routes: GatewayInputs["routes"];
  readonly gatewayServices: GatewayInputs["services"];
}

/** By host; one host's entries oldest object first (then Ingresses before Gateways, then by object). */
function sorted<T extends { host: string; source: string; object: string }>(items: Sourced<T>[]): T[] {
  return items
    .sort(
      (a, b) =>
        a.value.host.localeCompare(b.value.host) ||
        (a.createdAt || "~").localeCompare(b.createdAt || "~") ||
        a.value.source.localeCompare(b.value.source) ||
        a.value.object.localeCompare(b.value.object),
    )
    .map((s) => s.value);
}

function unique(items: UnmappedName[]): UnmappedName[] {
  const seen = new Set<string>();
  return items.filter((u) => {
    const key = `${u.host}|${u.source}|${u.object}|${u.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** One profile's names from what the watches hold: a pure function of the objects. */
export function mapNames(objects: ClusterObjects, catalog: readonly IngressControllerKind[]): IngressNames {
  const fromIngresses = ingressNames({ ...objects, services: objects.controllerServices, catalog });
  const fromGateways = gatewayNames({
    gateways: objects.gateways,
    routes: objects.routes,
    services: objects.gatewayServices,
  });
  return {
    entries: sorted([...fromIngresses.entries, ...fromGateways.entries]),
    unmapped: unique(sorted([...fromIngresses.unmapped, ...fromGateways.unmapped])),
  };
}

/** The entry each host resolves to: the first, from the oldest object (`entries` come sorted that way). */
export function firstPerHost(entries: readonly HostEntry[]): HostEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.host) && Boolean(seen.add(e.host)));
}

/** Where two addresses are the same place: one loopback address per such place in forward mode. */
export function addressKey(address: NameAddress): string {
  return `${address.kind}|${address.ip}`;
}
