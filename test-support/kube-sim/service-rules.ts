import { addressAt, cidrSize, containsCidr, isValidIp, parseCidr, type Cidr } from "../../src/shared/cidr.js";
import { ApiError, type KubeObject } from "./api-error.js";

function containsAddress(cidr: Cidr, address: string): boolean {
  return isValidIp(address) && containsCidr(cidr, parseCidr(address));
}

/** ClusterIP and NodePort allocation, as the apiserver's service registry does it. */
export class ServiceAllocator {
  private readonly cidr: Cidr;
  private readonly usedIps = new Set<string>();
  private readonly usedPorts = new Set<number>();
  private nextOffset = 1n;
  private nextPort = 30000;

  constructor(serviceCidr = "10.96.0.0/12") {
    this.cidr = parseCidr(serviceCidr);
  }

  allocateIp(requested?: string): string {
    if (requested) {
      if (!containsAddress(this.cidr, requested))
        throw new ApiError(
          422,
          "Invalid",
          `Service is invalid: spec.clusterIPs: Invalid value: "${requested}": failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`,
        );
      if (this.usedIps.has(requested))
        throw new ApiError(
          422,
          "Invalid",
          `Service is invalid: spec.clusterIPs: Invalid value: "${requested}": failed to allocate IP ${requested}: provided IP is already allocated`,
        );
      this.usedIps.add(requested);
      return requested;
    }
    const size = cidrSize(this.cidr);
    for (let tries = 0n; tries < size - 2n; tries++) {
      const ip = addressAt(this.cidr, this.nextOffset);
      this.nextOffset = this.nextOffset + 1n >= size - 1n ? 1n : this.nextOffset + 1n;
      if (!this.usedIps.has(ip)) {
        this.usedIps.add(ip);
        return ip;
      }
    }
    throw new ApiError(500, "InternalError", "failed to allocate a serviceIP: range is full");
  }

  allocatePort(): number {
    if (this.usedPorts.size >= 32767 - 30000 + 1)
      throw new ApiError(
        422,
        "Invalid",
        "spec.ports.nodePort: Internal error: failed to allocate a nodePort: range is full",
      );
    while (this.usedPorts.has(this.nextPort)) this.nextPort = this.nextPort >= 32767 ? 30000 : this.nextPort + 1;
    this.usedPorts.add(this.nextPort);
    return this.nextPort;
  }

  release(service: KubeObject): void {
    for (const ip of service.spec?.clusterIPs ?? []) this.usedIps.delete(ip);
    for (const port of service.spec?.ports ?? []) if (port.nodePort) this.usedPorts.delete(port.nodePort);
  }
}

const SERVICE_TYPES = new Set(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]);

function validatePorts(service: KubeObject): void {
  const ports: KubeObject[] = service.spec.ports ?? [];
  if (service.spec.type !== "ExternalName" && service.spec.clusterIP !== "None" && ports.length === 0) {
    throw new ApiError(422, "Invalid", `Service "${service.metadata.name}" is invalid: spec.ports: Required value`);
  }
  for (const [i, port] of ports.entries()) {
    if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535) {
      throw new ApiError(
        422,
        "Invalid",
        `Service "${service.metadata.name}" is invalid: spec.ports[${i}].port: Invalid value: ${JSON.stringify(port.port)}: must be between 1 and 65535, inclusive`,
      );
    }
    port.protocol ??= "TCP";
    port.targetPort ??= port.port;
  }
}

function allocateNodePorts(service: KubeObject, allocator: ServiceAllocator): void {
  if (service.spec.type !== "NodePort" && service.spec.type !== "LoadBalancer") return;
  if (service.spec.type === "LoadBalancer" && service.spec.allocateLoadBalancerNodePorts === false) return;
  for (const port of service.spec.ports ?? []) port.nodePort ??= allocator.allocatePort();
}

export function applyServiceCreate(service: KubeObject, allocator: ServiceAllocator): void {
  service.spec = { ...(service.spec ?? {}) };
  const spec = service.spec;
  spec.type ??= "ClusterIP";
  if (!SERVICE_TYPES.has(spec.type))
    throw new ApiError(
      422,
      "Invalid",
      `Service "${service.metadata.name}" is invalid: spec.type: Unsupported value: "${spec.type}"`,
    );
  if (spec.loadBalancerClass !== undefined && spec.type !== "LoadBalancer") {
    throw new ApiError(
      422,
      "Invalid",
      `Service "${service.metadata.name}" is invalid: spec.loadBalancerClass: Invalid value: "${spec.loadBalancerClass}": may only be used when \`type\` is 'LoadBalancer'`,
    );
  }
  validatePorts(service);
  if (spec.type !== "ExternalName") {
    if (spec.clusterIP !== "None") spec.clusterIP = allocator.allocateIp(spec.clusterIP || spec.clusterIPs?.[0]);
    spec.clusterIPs = [spec.clusterIP];
    spec.ipFamilies ??= [spec.clusterIP.includes(":") ? "IPv6" : "IPv4"];
    spec.ipFamilyPolicy ??= "SingleStack";
    spec.internalTrafficPolicy ??= "Cluster";
  }
  spec.sessionAffinity ??= "None";
  if (spec.type === "LoadBalancer" || spec.type === "NodePort") spec.externalTrafficPolicy ??= "Cluster";
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
  allocateNodePorts(service, allocator);
  // POST ignores status, except that a Service always carries an empty loadBalancer status.
  service.status = { loadBalancer: {} };
}

export function applyServiceUpdate(
  existing: KubeObject,
  incoming: KubeObject,
  allocator: ServiceAllocator,
): KubeObject {
  const spec = { ...(incoming.spec ?? {}) };
  const old = existing.spec;
  spec.type ??= "ClusterIP";
  if (!SERVICE_TYPES.has(spec.type))
    throw new ApiError(
      422,
      "Invalid",
      `Service "${existing.metadata.name}" is invalid: spec.type: Unsupported value: "${spec.type}"`,
    );
  if (old.type === "ExternalName" && spec.type !== "ExternalName") {
    // An ExternalName Service has no ClusterIP; leaving that type allocates one, as on create (the apiserver's service
    // REST update).
    if (spec.clusterIP !== "None") spec.clusterIP = allocator.allocateIp(spec.clusterIP || spec.clusterIPs?.[0]);
    spec.clusterIPs = [spec.clusterIP];
    spec.ipFamilies ??= [spec.clusterIP.includes(":") ? "IPv6" : "IPv4"];
    spec.ipFamilyPolicy ??= "SingleStack";
    spec.internalTrafficPolicy ??= "Cluster";
    delete spec.externalName;
  }
  spec.clusterIP ??= old.clusterIP;
  spec.clusterIPs ??= old.clusterIPs;
  if (spec.clusterIP !== old.clusterIP && old.type !== "ExternalName")
    throw new ApiError(
      422,
      "Invalid",
      `Service "${existing.metadata.name}" is invalid: spec.clusterIPs[0]: Invalid value: ${JSON.stringify(spec.clusterIP)}: may not change once set`,
    );
  if (old.type === "LoadBalancer" && spec.type === "LoadBalancer" && spec.loadBalancerClass !== old.loadBalancerClass) {
    throw new ApiError(
      422,
      "Invalid",
      `Service "${existing.metadata.name}" is invalid: spec.loadBalancerClass: Invalid value: ${JSON.stringify(spec.loadBalancerClass ?? null)}: may not change once set`,
    );
  }
  if (spec.loadBalancerClass !== undefined && spec.type !== "LoadBalancer") {
    throw new ApiError(
      422,
      "Invalid",
      `Service "${existing.metadata.name}" is invalid: spec.loadBalancerClass: Invalid value: "${spec.loadBalancerClass}": may only be used when \`type\` is 'LoadBalancer'`,
    );
  }
  const next: KubeObject = { ...incoming, spec, status: existing.status };
  validatePorts(next);
  for (const port of spec.ports ?? []) {
    const before = (old.ports ?? []).find((p: KubeObject) => p.port === port.port);
    if (port.nodePort === undefined && before?.nodePort !== undefined) port.nodePort = before.nodePort;
  }
  allocateNodePorts(next, allocator);
  if (spec.type !== "LoadBalancer" && spec.type !== "NodePort")
    for (const port of spec.ports ?? []) delete port.nodePort;
  // Leaving LoadBalancer clears the load balancer status (the apiserver's dropTypeDependentFields).
  if (old.type === "LoadBalancer" && spec.type !== "LoadBalancer") next.status = { loadBalancer: {} };
  return next;
}

/** The status subresource takes status and (as for every legacy core type) metadata, never spec. */
export function applyServiceStatusUpdate(existing: KubeObject, incoming: KubeObject): KubeObject {
  const ingress: KubeObject[] = incoming.status?.loadBalancer?.ingress ?? [];
  for (const [i, entry] of ingress.entries()) {
    if (entry.ipMode !== undefined && entry.ipMode !== "VIP" && entry.ipMode !== "Proxy") {
      throw new ApiError(
        422,
        "Invalid",
        `Service "${existing.metadata.name}" is invalid: status.loadBalancer.ingress[${i}].ipMode: Unsupported value: "${entry.ipMode}"`,
      );
    }
    if (entry.ipMode !== undefined && !entry.ip) {
      throw new ApiError(
        422,
        "Invalid",
        `Service "${existing.metadata.name}" is invalid: status.loadBalancer.ingress[${i}].ipMode: Forbidden: may not be specified when \`ip\` is not`,
      );
    }
  }
  if (ingress.length > 0 && existing.spec.type !== "LoadBalancer") {
    throw new ApiError(
      422,
      "Invalid",
      `Service "${existing.metadata.name}" is invalid: status.loadBalancer.ingress: Forbidden: may only be used when \`spec.type\` is 'LoadBalancer'`,
    );
  }
  return {
    ...existing,
    metadata: { ...existing.metadata, labels: incoming.metadata?.labels, annotations: incoming.metadata?.annotations },
    status: { ...(incoming.status ?? {}), loadBalancer: incoming.status?.loadBalancer ?? {} },
  };
}
