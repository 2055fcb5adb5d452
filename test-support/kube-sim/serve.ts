// Runs the API simulator as its own process (for example inside a test network namespace).
// Prints the kubeconfig path on its first line; stops on SIGTERM.
import { KubeSim } from "./kube-sim.js";

const sim = await KubeSim.start({ profile: process.argv[2] ?? "minikube", bookmarkIntervalMs: 1000 });
process.stdout.write(`${sim.kubeconfig}\n`);
const stop = () => {
  void sim.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
