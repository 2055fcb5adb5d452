import { ipFamily, isValidIp } from "../../../shared/cidr.js";
import type { ManagedService } from "../../lb/lb-service.js";
import type { ForwardSpec } from "./forward-listeners.js";

/**
 * What to forward, from the controller's view: every port of each Service
 * whose ingress we set, on its (loopback) ingress address, to its ClusterIP
 * and port on the node's side. IPv4 ClusterIPs first: the node reaches them
 * through kube-proxy whatever the family.
 */
export function forwardSpecsOf(services: readonly ManagedService[], inRange: (ip: string) => boolean): ForwardSpec[] {
  const specs: ForwardSpec[] = [];
  for (const service of services) {
    if (service.owner !== "minikube-tunnel") continue;
    const address = service.externalIps.map((i) => i.ip).find((ip): ip is string => ip !== undefined && inRange(ip));
    const targetHost = [...service.clusterIPs].filter(isValidIp).sort((a, b) => ipFamily(a) - ipFamily(b))[0];
    if (!address || !targetHost) continue;
    for (const port of service.ports)
      specs.push({
        namespace: service.namespace,
        name: service.name,
        address,
        port: port.port,
        protocol: port.protocol,
        targetHost,
        targetPort: port.port,
        ...(port.nodePort !== undefined ? { nodePort: port.nodePort } : {}),
      });
  }
  return specs;
}
