import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { labUnavailableReason } from "../test-support/netns-lab.js";
import { benchRoutes } from "./route-bench.js";

const outDir = join(import.meta.dirname, "results");
await mkdir(outDir, { recursive: true });
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };

const skip = labUnavailableReason();
if (skip) {
  console.log(`route benchmark skipped: ${skip}`);
} else {
  const routes = await benchRoutes();
  results.routes = routes;
  console.log(`routes: ${routes.routes} routes, start → routes in kernel ${routes.startToRoutesMs} ms vs ${routes.bareIpRouteAddMs} ms of bare ip route add (×${routes.ratio}); stop ${routes.stopMs} ms vs ${routes.bareIpRouteDelMs} ms bare del (×${routes.stopRatio}); cleanup of a dead tunnel ${routes.cleanupMs} ms`);
}

const file = join(outDir, "latest.json");
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`written to ${file}`);
