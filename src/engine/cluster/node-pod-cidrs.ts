import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { kubeConfigForProfile } from "../kube/kube-config.js";

/** Where pod CIDRs come from; the Kubernetes implementation reads Node objects. */
export interface PodCidrSource {
  podCidrs(profile: string): Promise<string[]>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class KubernetesPodCidrSource implements PodCidrSource {
  constructor(
    private readonly timeoutMs = 3000,
    private readonly configFor: (profile: string) => KubeConfig = kubeConfigForProfile,
  ) {}

  async podCidrs(profile: string): Promise<string[]> {
    const api = this.configFor(profile).makeApiClient(CoreV1Api);
    const nodes = await withTimeout(api.listNode(), this.timeoutMs, "listing Nodes");
    const cidrs = new Set<string>();
    for (const node of nodes.items) {
      for (const cidr of node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : [])) cidrs.add(cidr);
    }
    return [...cidrs];
  }
}
