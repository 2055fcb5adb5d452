import { listAll } from "../engine/kube/kube-connection.js";
import type { KubeApi } from "../engine/kube/kube-http.js";
import { toLbService } from "../engine/lb/lb-service.js";

/** A Service's node ports, as `status` reads them from the API. */
export interface NodePortService {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly { readonly port: number; readonly nodePort?: number; readonly protocol: string }[];
}

/**
 * Type NodePort Services, for `status` in any process: a forward-mode tunnel listens on their node ports as on the
 * LoadBalancers' (docs/architecture.md, "Forward mode"), and the LoadBalancer listing does not carry them.
 */
export async function listNodePortServices(client: KubeApi): Promise<NodePortService[]> {
  const { items } = await listAll<Record<string, unknown>>(client, "/api/v1/services");
  return items
    .map(toLbService)
    .filter((s) => s.type === "NodePort")
    .map(({ namespace, name, ports }) => ({ namespace, name, ports }));
}
