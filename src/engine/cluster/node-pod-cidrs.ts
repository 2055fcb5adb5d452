import type { KubeConfigSource } from "../kube/kube-config.js";
import { KubeHttp } from "../kube/kube-http.js";

/** Where pod CIDRs come from; the Kubernetes implementation reads Node objects. */
export interface PodCidrSource {
  podCidrs(profile: string): Promise<string[]>;
}

interface NodeList {
  items: { spec?: { podCIDR?: string; podCIDRs?: string[] } }[];
}

/** Reads `spec.podCIDRs` of every Node through the same client the LoadBalancer controller uses. */
export class KubernetesPodCidrSource implements PodCidrSource {
  constructor(
    private readonly kubeConfig: KubeConfigSource,
    private readonly timeoutMs = 3000,
  ) {}

  async podCidrs(profile: string): Promise<string[]> {
    const client = await KubeHttp.fromKubeConfig(await this.kubeConfig(profile), {
      timeoutMs: this.timeoutMs,
      maxSockets: 1,
    });
    const { body } = await client.call<NodeList>("GET", "/api/v1/nodes");
    const cidrs = new Set<string>();
    for (const node of body.items) {
      for (const cidr of node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : [])) cidrs.add(cidr);
    }
    return [...cidrs];
  }
}
