/** One kind the simulator serves, at the one version it serves it. Plurals are unique across groups here. */
export interface ResourceKind {
  readonly plural: string;
  readonly kind: string;
  /** "" for the core group (/api/v1). */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly hasStatus: boolean;
  /** Served only once installed (a CustomResourceDefinition); built-in kinds are always served. */
  readonly crd: boolean;
}

const GATEWAY_GROUP = "gateway.networking.k8s.io";

function kind(
  plural: string,
  name: string,
  group: string,
  version: string,
  namespaced: boolean,
  shortNames: readonly string[],
  hasStatus: boolean,
  crd = false,
): ResourceKind {
  return { plural, kind: name, group, version, namespaced, shortNames, hasStatus, crd };
}

export const KINDS: Record<string, ResourceKind> = {
  services: kind("services", "Service", "", "v1", true, ["svc"], true),
  nodes: kind("nodes", "Node", "", "v1", false, ["no"], true),
  namespaces: kind("namespaces", "Namespace", "", "v1", false, ["ns"], true),
  events: kind("events", "Event", "", "v1", true, ["ev"], false),
  pods: kind("pods", "Pod", "", "v1", true, ["po"], true),
  ingresses: kind("ingresses", "Ingress", "networking.k8s.io", "v1", true, ["ing"], true),
  ingressclasses: kind("ingressclasses", "IngressClass", "networking.k8s.io", "v1", false, [], false),
  gatewayclasses: kind("gatewayclasses", "GatewayClass", GATEWAY_GROUP, "v1", false, ["gc"], true, true),
  gateways: kind("gateways", "Gateway", GATEWAY_GROUP, "v1", true, ["gtw"], true, true),
  httproutes: kind("httproutes", "HTTPRoute", GATEWAY_GROUP, "v1", true, [], true, true),
  grpcroutes: kind("grpcroutes", "GRPCRoute", GATEWAY_GROUP, "v1", true, [], true, true),
  tlsroutes: kind("tlsroutes", "TLSRoute", GATEWAY_GROUP, "v1alpha2", true, [], true, true),
};

/** The CRDs of Gateway API's standard channel, as `kubectl apply -f standard-install.yaml` installs them. */
export const GATEWAY_API_STANDARD: readonly string[] = ["gatewayclasses", "gateways", "httproutes", "grpcroutes"];
/** What the experimental channel adds that the engine reads. */
export const GATEWAY_API_EXPERIMENTAL: readonly string[] = ["tlsroutes"];

export function groupVersion(k: ResourceKind): string {
  return k.group === "" ? k.version : `${k.group}/${k.version}`;
}

/** Served groups in the order the apiserver lists them (core first, built-in groups before CRD groups). */
export function servedGroups(served: (k: ResourceKind) => boolean): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const k of Object.values(KINDS)) {
    if (!served(k)) continue;
    const versions = groups.get(k.group) ?? [];
    if (!versions.includes(k.version)) versions.push(k.version);
    groups.set(k.group, versions);
  }
  // The apiserver orders a group's versions by stability: GA before beta before alpha.
  const rank = (v: string) => (/alpha/.test(v) ? 2 : /beta/.test(v) ? 1 : 0);
  for (const versions of groups.values()) versions.sort((a, b) => rank(a) - rank(b) || b.localeCompare(a));
  return groups;
}
