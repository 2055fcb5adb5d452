import { isValidIp, normaliseIp } from "../../shared/cidr.js";
import type { Json } from "../kube/kube-http.js";

/**
 * What we record on a Service: the external IPs we set, so we never touch external IPs someone else set. The
 * annotation's name keeps "ingress" (the API field it records): Services annotated by an earlier version stay ours.
 */
export const ASSIGNED_ANNOTATION = "minikube-tunnel.io/assigned-ingress";
/** Users list wanted pool IPs here (comma-separated), as MetalLB's loadBalancerIPs annotation. */
export const WANTED_IPS_ANNOTATION = "minikube-tunnel.io/load-balancer-ips";

export interface ExternalIpEntry {
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
  readonly externalIps: readonly ExternalIpEntry[];
  readonly ports: readonly {
    readonly port: number;
    readonly protocol: string;
    readonly name?: string;
    /** The port every node answers on for it (a NodePort Service's, or a LoadBalancer's node port). */
    readonly nodePort?: number;
  }[];
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
    // The API names a Service's external IPs `status.loadBalancer.ingress` (docs/architecture.md, Glossary).
    externalIps: (object.status?.loadBalancer?.ingress ?? []).map((i: Json) => ({
      ...(i.ip ? { ip: i.ip } : {}),
      ...(i.hostname ? { hostname: i.hostname } : {}),
      ...(i.ipMode ? { ipMode: i.ipMode } : {}),
    })),
    ports: (spec.ports ?? []).map((p: Json) => ({
      port: p.port,
      protocol: p.protocol ?? "TCP",
      ...(p.name ? { name: p.name } : {}),
      ...(Number.isInteger(p.nodePort) && p.nodePort > 0 && p.nodePort < 65536 ? { nodePort: p.nodePort } : {}),
    })),
  };
}

/** KEP-1959: only LoadBalancer Services whose class is unset or ours. */
export function inScope(service: LbService, className: string | null): boolean {
  return (
    service.type === "LoadBalancer" && (service.loadBalancerClass === null || service.loadBalancerClass === className)
  );
}

function externalIpList(externalIps: readonly ExternalIpEntry[]): string[] {
  return externalIps.map((i) => (i.ip ? normaliseIp(i.ip) : `host:${i.hostname ?? ""}`)).sort();
}

function sameIps(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].map((ip) => (isValidIp(ip) ? normaliseIp(ip) : ip)).sort();
  const y = [...b].map((ip) => (isValidIp(ip) ? normaliseIp(ip) : ip)).sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export type Ownership = "free" | "ours" | "foreign";

/**
 * A Service without external IPs is free to take. Its external IPs are ours only while they are
 * exactly what our annotation says we set; anything else belongs to someone else.
 */
export function ownership(service: LbService): Ownership {
  if (service.externalIps.length === 0) return "free";
  if (service.assigned !== null && sameIps(service.assigned, externalIpList(service.externalIps))) return "ours";
  return "foreign";
}

/** ClusterIP mode: one VIP external IP per family in clusterIPs. */
export function clusterIpExternalIps(service: LbService): ExternalIpEntry[] {
  return service.clusterIPs.map((ip) => ({ ip, ipMode: "VIP" }));
}

export function requestedIps(service: LbService): string[] {
  return [...new Set([...(service.loadBalancerIP ? [service.loadBalancerIP] : []), ...service.wantedIps])];
}

export function externalIpsMatch(service: LbService, desired: readonly ExternalIpEntry[]): boolean {
  return (
    service.assigned !== null &&
    sameIps(
      service.assigned,
      desired.map((d) => d.ip ?? ""),
    ) &&
    service.externalIps.length === desired.length &&
    desired.every((d) =>
      service.externalIps.some(
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
  readonly externalIps: readonly ExternalIpEntry[];
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
    externalIps: service.externalIps,
    owner: own === "ours" ? "minikube-tunnel" : own === "foreign" ? "other" : "none",
    ...(pending ? { pending } : {}),
  };
}
