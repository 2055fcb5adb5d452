import type { KubeHttp } from "../kube/kube-http.js";
import { type ManagedService, toLbService, toManagedService } from "./lb-service.js";

/** LoadBalancer Services with their external IPs and who set them, for `status` in any process. */
export async function listLoadBalancerServices(client: KubeHttp): Promise<ManagedService[]> {
  const { body } = await client.call<{ items: Record<string, unknown>[] }>("GET", "/api/v1/services");
  return body.items.map(toLbService).filter((s) => s.type === "LoadBalancer").map((s) => toManagedService(s));
}
