import { type AddressResult, preferredIp, serviceAddress, sortPorts } from "./controller-address.js";
import {
  GATEWAY_GROUP,
  type GatewayView,
  type ListenerView,
  type ParentRef,
  type RouteKind,
  type RouteView,
  sameParentRef,
} from "./gateway-views.js";
import { ANY_HOST, intersectHostnames, isWildcard, normaliseHost } from "./hostnames.js";
import type { Sourced } from "./ingress-mapping.js";
import type { HostEntry, NameAddress, ServedPort, UnmappedName } from "./name-types.js";
import type { ServiceView } from "./object-views.js";

/** The label Gateway implementations put on the Service they create for a Gateway (GEP-1762). */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

export interface GatewayInputs {
  readonly gateways: readonly GatewayView[];
  readonly routes: readonly RouteView[];
  /** Services labelled with GATEWAY_NAME_LABEL. */
  readonly services: readonly ServiceView[];
}

/** Protocols whose listeners take hostnames, what they speak, and the route kinds they take by default. */
const LISTENER_PROTOCOLS: Record<string, { protocol: ServedPort["protocol"]; kinds: readonly RouteKind[] }> = {
  HTTP: { protocol: "http", kinds: ["HTTPRoute", "GRPCRoute"] },
  HTTPS: { protocol: "https", kinds: ["HTTPRoute", "GRPCRoute"] },
  TLS: { protocol: "tls", kinds: ["TLSRoute"] },
};

/**
 * A Gateway's address: `status.addresses` first (its implementation's word on where it answers), else the Service
 * its implementation made for it, found by GATEWAY_NAME_LABEL (in the Gateway's namespace first: Envoy Gateway puts
 * it in its own), by external IP, else ClusterIP.
 */
export function gatewayAddress(gateway: GatewayView, services: readonly ServiceView[]): AddressResult {
  const fromStatus = preferredIp(gateway.addresses);
  if (fromStatus) return { address: { kind: "service-external", ip: fromStatus, ports: [] } };
  const own = services
    .filter((s) => s.labels[GATEWAY_NAME_LABEL] === gateway.ref.name)
    .sort(
      (a, b) =>
        Number(b.ref.namespace === gateway.ref.namespace) - Number(a.ref.namespace === gateway.ref.namespace) ||
        a.ref.key.localeCompare(b.ref.key),
    );
  for (const service of own) {
    const address = serviceAddress(service, []);
    if (address) return { address };
  }
  return {
    reason: `the Gateway has no address yet (no status.addresses, no Service labelled ${GATEWAY_NAME_LABEL}=${gateway.ref.name})`,
  };
}

function refersTo(ref: ParentRef, gateway: GatewayView, listener: ListenerView): boolean {
  return (
    ref.group === GATEWAY_GROUP &&
    ref.kind === "Gateway" &&
    ref.namespace === gateway.ref.namespace &&
    ref.name === gateway.ref.name &&
    (ref.sectionName === null || ref.sectionName === listener.name) &&
    (ref.port === null || ref.port === listener.port)
  );
}

/**
 * Whether a route is attached to this listener: a parentRef names the Gateway (and the listener, if it names one),
 * the route's `status.parents` accepts that ref (Accepted=True), or has not judged it yet (then the ref alone
 * counts), and the listener allows the route's kind and namespace. A namespace selector cannot be judged without
 * the namespaces' labels: an accepted route is taken as allowed there.
 */
export function routeAttaches(route: RouteView, gateway: GatewayView, listener: ListenerView): boolean {
  const refs = route.parentRefs.filter((ref) => refersTo(ref, gateway, listener));
  const accepted = refs.some((ref) => route.parents.find((p) => sameParentRef(p.ref, ref))?.accepted !== false);
  if (!accepted) return false;
  const kinds = listener.allowedKinds
    ? listener.allowedKinds.filter((k) => k.group === GATEWAY_GROUP).map((k) => k.kind)
    : (LISTENER_PROTOCOLS[listener.protocol]?.kinds ?? []);
  if (!kinds.includes(route.kind)) return false;
  return listener.namespaces !== "Same" || route.ref.namespace === gateway.ref.namespace;
}

interface Collected {
  ports: ServedPort[];
  via: Set<string>;
}

/** One Gateway's names: its listeners' hostnames and, for each attached route, the intersected hostnames. */
function namesOf(gateway: GatewayView, routes: readonly RouteView[], invalid: (raw: string) => void) {
  const names = new Map<string, Collected>();
  const add = (host: string, port: ServedPort, via?: string) => {
    const collected = names.get(host) ?? { ports: [], via: new Set<string>() };
    collected.ports.push(port);
    if (via) collected.via.add(via);
    names.set(host, collected);
  };
  for (const listener of gateway.listeners) {
    const speaks = LISTENER_PROTOCOLS[listener.protocol];
    if (!speaks) continue;
    const port: ServedPort = { port: listener.port, protocol: speaks.protocol };
    const own = listener.hostname === null ? ANY_HOST : normaliseHost(listener.hostname);
    if (own === null) {
      invalid(listener.hostname!);
      continue;
    }
    if (own !== ANY_HOST) add(own, port);
    for (const route of routes) {
      if (!routeAttaches(route, gateway, listener)) continue;
      const via = `${route.kind} ${route.ref.key}`;
      for (const raw of route.hostnames.length > 0 ? route.hostnames : [ANY_HOST]) {
        const hostname = raw === ANY_HOST ? raw : normaliseHost(raw);
        if (hostname === null) {
          invalid(raw);
          continue;
        }
        const intersected = intersectHostnames(own, hostname);
        // No intersection: the route is not attached to this listener. `*`: no name to give.
        if (intersected !== null && intersected !== ANY_HOST) add(intersected, port, via);
      }
    }
  }
  return names;
}

/** Every Gateway's names, mapped to its address, or unmapped with the reason. */
export function gatewayNames(inputs: GatewayInputs): {
  entries: Sourced<HostEntry>[];
  unmapped: Sourced<UnmappedName>[];
} {
  const entries: Sourced<HostEntry>[] = [];
  const unmapped: Sourced<UnmappedName>[] = [];
  for (const gateway of inputs.gateways) {
    const createdAt = gateway.ref.createdAt;
    const base = { source: "gateway" as const, object: gateway.ref.key };
    const routes = inputs.routes.filter((r) => r.parentRefs.some((ref) => ref.name === gateway.ref.name));
    const names = namesOf(gateway, routes, (raw) =>
      unmapped.push({ value: { ...base, host: raw, wildcard: false, reason: "not a host name" }, createdAt }),
    );
    if (names.size === 0) continue;
    const result: AddressResult = gateway.notAccepted
      ? { reason: `the Gateway is not accepted: ${gateway.notAccepted}` }
      : gatewayAddress(gateway, inputs.services);
    for (const [host, collected] of names) {
      const named = { ...base, host, wildcard: isWildcard(host) };
      if ("reason" in result) {
        unmapped.push({ value: { ...named, reason: result.reason }, createdAt });
        continue;
      }
      const address: NameAddress = { ...result.address, ports: sortPorts(collected.ports) };
      const via = [...collected.via].sort();
      entries.push({ value: { ...named, address, ...(via.length > 0 ? { via } : {}) }, createdAt });
    }
  }
  return { entries, unmapped };
}
