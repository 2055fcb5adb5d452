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

export function lbService(name: string, extra: { namespace?: string; spec?: KubeObject; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    metadata: { name, namespace: extra.namespace ?? "default", ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...extra.spec },
  };
}

/** Polls the store (not the network) until the check passes. */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = "condition"): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}

export function ingressOf(sim: KubeSim, name: string, namespace = "default"): string[] {
  try {
    return (sim.store.get("services", namespace, name).status?.loadBalancer?.ingress ?? []).map((i: KubeObject) => i.ip);
  } catch {
    return [];
  }
}
