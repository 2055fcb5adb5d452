// Runs in Windows' own Node under Wine (wine-helper.integration.test.ts): a client of the privileged helper, as the
// CLI is one, reached through the product's own code paths. Writes what it saw as JSON to the file named first, then
// ends as the test asked: `close` (a clean close) or `kill` (TerminateProcess, as Task Manager's End task).
//   session <out> <end> <helper-main.mjs> <cidr> <gateway>  per-session helper through UAC (sudo-prompt, "gui")
//   installed <out> <end> <cidr> <gateway>                   the installed helper (its port and secret files)
//   elevated <out>                                           isElevated(), and where root's records go
//   argv <out> <in.json>                                     runs Node elevated (gui) with the arguments listed in
//                                                            in.json; the program writes what reached it to <out>
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { defaultRuntimeDir, runAsRoot } from "../src/engine/elevation/elevation.js";
import type { HelperClient } from "../src/engine/elevation/helper-client.js";
import { launchHelper } from "../src/engine/elevation/helper-launch.js";
import { connectInstalledHelper } from "../src/engine/elevation/installed-helper-client.js";
import { isElevated } from "../src/engine/system/elevation-state.js";
import { declareAndRoute } from "./wine-helper-declare.js";

const [mode = "", out = "", ...rest] = process.argv.slice(2);
const report = (value: unknown) => writeFileSync(out, `${JSON.stringify(value)}\n`);
const miniPath = join(homedir(), ".minikube");
const registryPath = join(miniPath, "tunnels.json");

async function serve(client: HelperClient, end: string, cidr: string, gateway: string): Promise<void> {
  const outcomes = await declareAndRoute(client, cidr, gateway);
  report({ outcomes, pid: process.pid });
  if (end === "kill") process.kill(process.pid, "SIGKILL");
  await client.close();
}

try {
  mkdirSync(join(miniPath, "logs"), { recursive: true });
  if (mode === "session") {
    const [end = "", script = "", cidr = "", gateway = ""] = rest;
    const program = { runtime: process.execPath, runtimeArgs: [], script };
    await serve(await launchHelper({ miniPath, registryPath, mode: "gui", program }), end, cidr, gateway);
  } else if (mode === "installed") {
    const [end = "", cidr = "", gateway = ""] = rest;
    const client = await connectInstalledHelper(registryPath);
    if (!client) throw new Error("no installed helper answered");
    await serve(client, end, cidr, gateway);
  } else if (mode === "argv") {
    const echo = join(miniPath, "echo-argv.cjs");
    writeFileSync(echo, "require('fs').writeFileSync(process.argv[2], JSON.stringify(process.argv.slice(3)))\n");
    const args = JSON.parse(readFileSync(rest[0] ?? "", "utf8")) as string[];
    await runAsRoot("gui", [process.execPath, echo, out, ...args]);
  } else if (mode === "elevated") {
    report({ elevated: isElevated(), runtimeDir: defaultRuntimeDir() });
  } else throw new Error(`unknown mode ${mode}`);
} catch (error) {
  report({ error: (error as Error).message });
}
