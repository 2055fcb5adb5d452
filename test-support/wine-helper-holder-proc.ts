// Runs in Windows' own Node under Wine (wine-helper.integration.test.ts): a client of the installed helper that adds a
// route and holds its connection, as a running tunnel does, until the helper closes it (a service stop). Writes what it
// saw as JSON lines to the file named first: the outcomes once the route is added, then `closed` with the time the
// helper went.
//   <out> <cidr> <gateway>
import { appendFileSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { connectInstalledHelper } from "../src/engine/elevation/installed-helper-client.js";
import { declareAndRoute } from "./wine-helper-declare.js";

const [out = "", cidr = "", gateway = ""] = process.argv.slice(2);
const report = (value: unknown) => appendFileSync(out, `${JSON.stringify(value)}\n`);
const miniPath = join(homedir(), ".minikube");

try {
  mkdirSync(join(miniPath, "logs"), { recursive: true });
  const client = await connectInstalledHelper(join(miniPath, "tunnels.json"));
  if (!client) throw new Error("no installed helper answered");
  const outcomes = await declareAndRoute(client, cidr, gateway);
  report({ outcomes });
  // The client has no event for the helper going; its `closed` turns true when the connection ends.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => client.closed && (clearInterval(poll), resolve()), 50);
  });
  report({ closed: new Date().toISOString() });
} catch (error) {
  report({ error: (error as Error).message });
}
