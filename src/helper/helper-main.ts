#!/usr/bin/env node
// The privileged helper (DESIGN §6). Started as root through sudo, @vscode/sudo-prompt, or directly when already root.
import { spawn } from "node:child_process";
import { appendFileSync, chownSync, existsSync, mkdirSync, openSync, realpathSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { currentProcessIdentity } from "../engine/registry/process-liveness.js";
import { RegistryFile } from "../engine/registry/registry-file.js";
import { RouteRegistrar } from "../engine/registry/route-transaction.js";
import { routeTableFor } from "../engine/routes/platform-route-table.js";
import { HelperServer } from "./helper-server.js";
import { isSourceCheckout, writablePaths } from "./integrity.js";
import { readSecretFile } from "./secret-file.js";

const { values } = parseArgs({
  options: {
    "secret-file": { type: "string" },
    "runtime-dir": { type: "string" },
    "log-file": { type: "string" },
    registry: { type: "string" },
    daemonize: { type: "boolean", default: false },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`mktunnel-helper: ${message}\n`);
  process.exit(1);
}

const secretFile = values["secret-file"] ?? fail("--secret-file is required");
const runtimeDir = values["runtime-dir"] ?? fail("--runtime-dir is required");
const logFile = values["log-file"] ?? fail("--log-file is required");
const registryFile = values.registry ?? fail("--registry is required");
if (process.platform !== "win32" && process.getuid?.() !== 0) fail("must run as root");

/** Root writes the registry, so it must be the user's own tunnels.json, not a path that points elsewhere. */
function checkRegistryPath(path: string, uid: number): void {
  if (basename(path) !== "tunnels.json") fail(`--registry must name a tunnels.json file, not ${path}`);
  const dir = realpathSync(dirname(path));
  const info = statSync(dir);
  if (info.uid !== uid && info.uid !== 0) fail(`registry directory ${dir} belongs to uid ${info.uid}, not to the helper's user ${uid}`);
}

export function socketPathFor(dir: string, uid: number): string {
  return join(dir, `helper-${uid}.sock`);
}

if (values.daemonize) {
  // sudo and sudo-prompt wait for the command to end, so the real helper runs detached and this one reports its start.
  const args = process.argv.slice(2).filter((a) => a !== "--daemonize");
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], { detached: true, stdio: "ignore" });
  child.unref();
  const started = Date.now();
  // The socket is named after the secret file's owner, read before the helper deletes the file.
  const socketPath = socketPathFor(runtimeDir, statSync(secretFile).uid);
  const poll = setInterval(() => {
    if (child.exitCode !== null) {
      clearInterval(poll);
      fail(`helper exited with code ${child.exitCode} during start; see ${logFile}`);
    }
    if (existsSync(socketPath) && !existsSync(secretFile)) {
      clearInterval(poll);
      process.exit(0);
    }
    if (Date.now() - started > 10_000) {
      clearInterval(poll);
      fail(`helper did not start within 10 s; see ${logFile}`);
    }
  }, 50);
} else {
  const script = fileURLToPath(import.meta.url);
  const secret = await readSecretFile(secretFile).catch((error: Error) => fail(error.message));
  const fd = openSync(logFile, "a", 0o600);
  chownSync(logFile, secret.uid, secret.gid);
  const log = (line: string) => appendFileSync(fd, `${new Date().toISOString()} ${line}\n`);
  const problems = writablePaths([process.execPath, script]);
  if (problems.length > 0) {
    if (isSourceCheckout(script)) log(`warning (source checkout, not enforced): ${problems.join("; ")}`);
    else {
      log(`refusing to run: ${problems.join("; ")}`);
      fail(`refusing to run as root: ${problems[0]}`);
    }
  }
  checkRegistryPath(registryFile, secret.uid);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
  const dirInfo = statSync(runtimeDir);
  if (dirInfo.uid !== 0 || (dirInfo.mode & 0o022) !== 0) fail(`runtime directory ${runtimeDir} must be owned by root and not writable by others`);
  const table = routeTableFor();
  const registry = new RegistryFile(registryFile);
  const registrar = new RouteRegistrar(table, registry, await currentProcessIdentity());
  const server = new HelperServer(
    { socketPath: socketPathFor(runtimeDir, secret.uid), uid: secret.uid, gid: secret.gid, secret: secret.value, registrar, table, registry, log },
    () => process.exit(0),
  );
  await server.listen();
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void server.shutdown());
}
