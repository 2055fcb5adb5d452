// The LoadBalancer controller alone in its own process, as the benchmark measures it.
import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../src/engine/kube/kube-http.js";
import { LoadBalancerController } from "../src/engine/lb/lb-controller.js";

const [kubeconfig = "", events = "events"] = process.argv.slice(2);
const config = new KubeConfig();
config.loadFromFile(kubeconfig);
const controller = new LoadBalancerController(await KubeHttp.fromKubeConfig(config), {
  mode: "clusterip",
  emitEvents: events === "events",
  releaseOnStop: false,
});
await controller.start();
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  process.stdout.write(`${JSON.stringify(controller.stats())}\n`);
  void controller.stop().then(() => process.exit(0));
});
