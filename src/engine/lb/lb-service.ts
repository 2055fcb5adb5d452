import { isValidIp, normaliseIp } from "../../shared/cidr.js";
import type { Json } from "../kube/kube-http.js";

/** What we record on a Service: the ingress IPs we set, so we never touch an ingress someone else set. */
export const ASSIGNED_ANNOTATION = "minikube-tunnel.io/assigned-ingress";
/** Users list wanted pool IPs here (comma-separated), as MetalLB's loadBalancerIPs annotation. */
export const WANTED_IPS_ANNOTATION = "minikube-tunnel.io/load-balancer-ips";

export interface IngressEntry {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: string;
}

/** The few fields the controller needs, kept instead of whole objects so 10,000 Services stay small. */
export interface LbService {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly type: string;
  readonly loadBalancerClass: string | null;
  readonly clusterIPs: readonly string[];
  readonly ipFamilies: readonly string[];
  readonly loadBalancerIP: string | null;
  readonly wantedIps: readonly string[];
  readonly assigned: readonly string[] | null;
  readonly ingress: readonly IngressEntry[];
  readonly ports: readonly { readonly port: number; readonly protocol: string; readonly name?: string }[];
}

function splitList(text: unknown): string[] {
  return typeof text === "string"
    ? text
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
    : [];
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function toLbService(object: Json): LbService {
  const metadata = object.metadata ?? {};
  const spec = object.spec ?? {};
  const annotations = metadata.annotations ?? {};
  return {
    key: serviceKey(metadata.namespace ?? "", metadata.name ?? ""),
    namespace: metadata.namespace ?? "",
    name: metadata.name ?? "",
    uid: metadata.uid ?? "",
    resourceVersion: metadata.resourceVersion ?? "",
    type: spec.type ?? "ClusterIP",
    loadBalancerClass: spec.loadBalancerClass ?? null,
    clusterIPs: (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip: string) => isValidIp(ip)),
    ipFamilies: spec.ipFamilies ?? [],
    loadBalancerIP: spec.loadBalancerIP || null,
    wantedIps: splitList(annotations[WANTED_IPS_ANNOTATION]),
    assigned: ASSIGNED_ANNOTATION in annotations ? splitList(annotations[ASSIGNED_ANNOTATION]) : null,
    ingress: (object.status?.loadBalancer?.ingress ?? []).map((i: Json) => ({
      ...(i.ip ? { ip: i.ip } : {}),
      ...(i.hostname ? { hostname: i.hostname } : {}),
      ...(i.ipMode ? { ipMode: i.ipMode } : {}),
    })),
    ports: (spec.ports ?? []).map((p: Json) => ({
      port: p.port,
      protocol: p.protocol ?? "TCP",
      ...(p.name ? { name: p.name } : {}),
    })),
  };
}

/** KEP-1959: only LoadBalancer Services whose class is unset or ours. */
export function inScope(service: LbService, className: string | null): boolean {
  return (
    service.type === "LoadBalancer" && (service.loadBalancerClass === null || service.loadBalancerClass === className)
  );
}

function ingressIps(ingress: readonly IngressEntry[]): string[] {
  return ingress.map((i) => (i.ip ? normaliseIp(i.ip) : `host:${i.hostname ?? ""}`)).sort();
}

function sameIps(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].map((ip) => (isValidIp(ip) ? normaliseIp(ip) : ip)).sort();
  const y = [...b].map((ip) => (isValidIp(ip) ? normaliseIp(ip) : ip)).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export type Ownership = "free" | "ours" | "foreign";

/**
 * An empty ingress is free to take. A non-empty one is ours only while it is
 * exactly what our annotation says we set; anything else belongs to someone else.
 */
export function ownership(service: LbService): Ownership {
  if (service.ingress.length === 0) return "free";
  if (service.assigned !== null && sameIps(service.assigned, ingressIps(service.ingress))) return "ours";
  return "foreign";
}

/** ClusterIP mode: one VIP ingress per family in clusterIPs. */
export function clusterIpIngress(service: LbService): IngressEntry[] {
  return service.clusterIPs.map((ip) => ({ ip, ipMode: "VIP" }));
}

export function requestedIps(service: LbService): string[] {
  return [...new Set([...(service.loadBalancerIP ? [service.loadBalancerIP] : []), ...service.wantedIps])];
}

export function ingressMatches(service: LbService, desired: readonly IngressEntry[]): boolean {
  return (
    service.assigned !== null &&
    sameIps(
      service.assigned,
      desired.map((d) => d.ip ?? ""),
    ) &&
    service.ingress.length === desired.length &&
    desired.every((d) =>
      service.ingress.some(
        (i) =>
          i.ip !== undefined && d.ip !== undefined && normaliseIp(i.ip) === normaliseIp(d.ip) && i.ipMode === d.ipMode,
      ),
    )
  );
}

/** How a Service is shown in status and the UI: its external IPs and who set them. */
export interface ManagedService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIPs: readonly string[];
  readonly ports: LbService["ports"];
  readonly ingress: readonly IngressEntry[];
  readonly owner: "minikube-tunnel" | "other" | "none";
  readonly pending?: string;
}

export function toManagedService(service: LbService, pending?: string): ManagedService {
  const own = ownership(service);
  return {
    namespace: service.namespace,
    name: service.name,
    clusterIPs: service.clusterIPs,
    ports: service.ports,
    ingress: service.ingress,
    owner: own === "ours" ? "minikube-tunnel" : own === "foreign" ? "other" : "none",
    ...(pending ? { pending } : {}),
  };
}
