import type { ServiceName } from "../cluster-access.js";
import type { ForwardSpec } from "./forward-listeners.js";

/** Where forward mode listens for node ports: the host's own loopback address, as Docker Desktop publishes them. */
export const NODE_PORT_ADDRESS = "127.0.0.1";

/**
 * What to forward for node ports (docs/architecture.md, "Forward mode"): every
 * node port of every Service (a NodePort Service's, a LoadBalancer's) on
 * `127.0.0.1:<nodePort>`, to the node's own address and the same port through
 * the link, where kube-proxy answers for it. A node port is the cluster's
 * alone, so two Services never share one; the first seen keeps it if they do.
 */
export function nodePortSpecsOf(services: readonly ServiceName[], nodeHost: string): ForwardSpec[] {
  const specs = new Map<string, ForwardSpec>();
  for (const service of services)
    for (const { port, nodePort, protocol } of service.nodePorts ?? []) {
      const key = `${nodePort}/${protocol}`;
      if (specs.has(key)) continue;
      specs.set(key, {
        namespace: service.namespace,
        name: service.name,
        address: NODE_PORT_ADDRESS,
        port: nodePort,
        protocol,
        targetHost: nodeHost,
        targetPort: nodePort,
        servicePort: port,
        nodePort,
      });
    }
  return [...specs.values()];
}
