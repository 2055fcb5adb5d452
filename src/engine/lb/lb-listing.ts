import { listAll } from "../kube/kube-connection.js";
import type { KubeApi } from "../kube/kube-http.js";
import { type ManagedService, toLbService, toManagedService } from "./lb-service.js";

/** LoadBalancer Services with their external IPs and who set them, for `status` in any process. */
export async function listLoadBalancerServices(client: KubeApi): Promise<ManagedService[]> {
  const { items } = await listAll<Record<string, unknown>>(client, "/api/v1/services");
  return items
    .map(toLbService)
    .filter((s) => s.type === "LoadBalancer")
    .map((s) => toManagedService(s));
}
