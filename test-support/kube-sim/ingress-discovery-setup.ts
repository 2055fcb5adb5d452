import { KubeConfig } from "@kubernetes/client-node";
import { afterEach } from "vitest";
import { IngressDiscovery, type IngressDiscoveryOptions } from "../../src/engine/ingress/ingress-discovery.js";
import type { IngressNamesChange } from "../../src/engine/ingress/name-types.js";
import { KubeConnection } from "../../src/engine/kube/kube-connection.js";
import { KubeHttp } from "../../src/engine/kube/kube-http.js";
import { KubeSim, type KubeSimOptions } from "./kube-sim.js";

const sims: KubeSim[] = [];
const running: { discovery: IngressDiscovery; connection: KubeConnection }[] = [];

afterEach(async () => {
  for (const { discovery, connection } of running.splice(0)) {
    await discovery.stop();
    connection.close();
  }
  for (const sim of sims.splice(0)) await sim.stop();
});

export async function simulator(options: KubeSimOptions = {}): Promise<KubeSim> {
  const sim = await KubeSim.start({ bookmarkIntervalMs: 200, ...options });
  sims.push(sim);
  return sim;
}

/**
 * An IngressDiscovery on the simulator as the app runs it: over a KubeConnection that reads the kubeconfig again when
 * the connection fails. Discovery polls every 200 ms instead of every minute.
 */
export async function discoveryOn(sim: KubeSim, options: IngressDiscoveryOptions = {}) {
  const connection = await KubeConnection.open(() => {
    const config = new KubeConfig();
    config.loadFromFile(sim.kubeconfig);
    config.setCurrentContext(sim.profile);
    return KubeHttp.fromKubeConfig(config);
  });
  const discovery = new IngressDiscovery(connection, { discoveryIntervalMs: 200, ...options });
  running.push({ discovery, connection });
  const changes: IngressNamesChange[] = [];
  const logs: string[] = [];
  discovery.on("changed", (change: IngressNamesChange) => changes.push(change));
  discovery.on("log", (line: string) => logs.push(line));
  await discovery.start();
  return { discovery, changes, logs };
}

/** host → "kind ip ports" of the names now mapped, for compact expectations. */
export function mapped(discovery: IngressDiscovery): Record<string, string> {
  return Object.fromEntries(
    discovery
      .names()
      .entries.map((e) => [
        e.host,
        `${e.address.kind} ${e.address.ip} ${e.address.ports.map((p) => p.port).join(",")}`,
      ]),
  );
}
