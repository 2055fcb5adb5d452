import { KubeConfig } from "@kubernetes/client-node";

/** The standard kubeconfig (KUBECONFIG, else ~/.kube/config) at the context minikube names after the profile. */
export function kubeConfigForProfile(profile: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  if (!config.getContextObject(profile)) {
    throw new Error(`kubeconfig has no context named "${profile}" (minikube names the context after the profile)`);
  }
  config.setCurrentContext(profile);
  return config;
}
