// A helper client over the TCP channel, in its own process (run as the test user inside the lab):
// `add`: declares and adds routes, reports, waits to be killed; `ping`: one ping, reports, exits.
import { readFileSync } from "node:fs";
import { parseCidr } from "../src/shared/cidr.js";
import { HelperClient } from "../src/engine/elevation/helper-client.js";

const [mode = "", portFile = "", secret = "", gateway = "", ...cidrs] = process.argv.slice(2);
const port = Number(readFileSync(portFile, "utf8").trim());
try {
  const client = await HelperClient.overChannel(port, secret);
  await client.hello();
  if (mode === "ping") {
    process.stdout.write(`${JSON.stringify({ pong: await client.call({ op: "ping" }) })}\n`);
    process.exit(0);
  }
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
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`);
  process.exit(0);
}
