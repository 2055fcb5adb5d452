// A helper client in its own process (run as the test user): declares, adds routes, reports, then waits to be killed.
import { parseCidr } from "../src/shared/cidr.js";
import { HelperClient } from "../src/engine/elevation/helper-client.js";

const [socketPath = "", secret = "", gateway = "", ...cidrs] = process.argv.slice(2);
const client = await HelperClient.connect(socketPath, secret);
await client.hello();
await client.declare({
  profile: "minikube",
  nodeIp: gateway,
  cidrs: cidrs.map((c) => parseCidr(c)),
  clusterDomain: "cluster.local",
  clusterDnsIp: "10.96.0.10",
});
const outcomes = await client.addRoutes(
  cidrs.map((cidr) => ({ destination: parseCidr(cidr), gateway, profile: "minikube" })),
);
process.stdout.write(`${JSON.stringify({ ready: true, outcomes })}\n`);
setInterval(() => undefined, 60_000);
