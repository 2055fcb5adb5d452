// Runs the API simulator as its own process (for example inside a test network namespace).
// argv: the profile (default minikube), then `gateway-api` to serve Gateway API's standard CRDs from the start.
// Prints the kubeconfig path on its first line; stops on SIGTERM.
import { KubeSim } from "./kube-sim.js";
import { GATEWAY_API_STANDARD } from "./resource-kinds.js";

const sim = await KubeSim.start({
  profile: process.argv[2] ?? "minikube",
  bookmarkIntervalMs: 1000,
  ...(process.argv.includes("gateway-api") ? { crds: GATEWAY_API_STANDARD } : {}),
});
process.stdout.write(`${sim.kubeconfig}\n`);
const stop = () => {
  void sim.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
