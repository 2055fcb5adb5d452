import { parseCidr } from "../src/shared/cidr.js";
import type { HelperClient } from "../src/engine/elevation/helper-client.js";

/**
 * What the Wine helper clients (wine-helper-holder-proc.ts, wine-lab-helper-proc.ts) ask of the helper, as a tunnel
 * would: profile "minikube" declared with its node at `gateway`, then a route to `cidr` through it. The outcomes.
 */
export async function declareAndRoute(client: HelperClient, cidr: string, gateway: string) {
  await client.declare({
    profile: "minikube",
    nodeIp: gateway,
    cidrs: [parseCidr(cidr)],
    clusterDomain: "cluster.local",
    clusterDnsIp: "10.96.0.10",
  });
  return client.addRoutes([{ destination: parseCidr(cidr), gateway, profile: "minikube" }]);
}
