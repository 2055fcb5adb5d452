import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../../src/engine/kube/kube-http.js";
import type { KubeSim } from "./kube-sim.js";
import type { KubeObject } from "./object-store.js";

export async function clientFor(sim: KubeSim): Promise<KubeHttp> {
  const config = new KubeConfig();
  config.loadFromFile(sim.kubeconfig);
  config.setCurrentContext(sim.profile);
  return KubeHttp.fromKubeConfig(config);
}

export function lbService(
  name: string,
  extra: { namespace?: string; spec?: KubeObject; annotations?: Record<string, string> } = {},
): KubeObject {
  return {
    metadata: {
      name,
      namespace: extra.namespace ?? "default",
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...extra.spec },
  };
}

export function externalIpsOf(sim: KubeSim, name: string, namespace = "default"): string[] {
  try {
    return (sim.store.get("services", namespace, name).status?.loadBalancer?.ingress ?? []).map(
      (i: KubeObject) => i.ip,
    );
  } catch {
    return [];
  }
}
