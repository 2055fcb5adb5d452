import { KubeSim } from "./kube-sim.js";
const sim = await KubeSim.start();
console.log(sim.kubeconfig);
setTimeout(async () => { await sim.stop(); process.exit(0); }, 60000);
