#!/usr/bin/env node
// The privileged helper (docs/architecture.md, "The privileged helper"). Started as root through sudo,
// @vscode/sudo-prompt, or directly when already root.
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { socketPathFor } from "../engine/elevation/helper-layout.js";
import { routeTableFor } from "../engine/root/routes/platform-route-table.js";
import { assertNoUserLinks } from "../engine/root/files/directory-walk.js";
import { FileGuard } from "../engine/root/files/guarded-files.js";
import { NO_ALLOWANCES } from "../engine/root/policy/allowances.js";
import { HelperServer } from "./helper-server.js";
import { runDaemon, stopWhenInputEnds } from "./helper-daemon.js";
import { listenTcp } from "./tcp-listener.js";
import { writableOnWindows, writablePaths } from "./integrity.js";
import { ensureRootDirectory } from "../engine/root/files/root-directory.js";
import { readSecretFile } from "./secret-file.js";
import { checkRegistryPath, openRootSession } from "./session-factory.js";

const { values } = parseArgs({
  options: {
    "secret-file": { type: "string" },
    "runtime-dir": { type: "string" },
    "log-file": { type: "string" },
    registry: { type: "string" },
    daemonize: { type: "boolean", default: false },
    daemon: { type: "boolean", default: false },
    config: { type: "string" },
    /**
     * "unix" (a socket in the runtime directory), or "tcp" (a loopback port with the challenge–response channel;
     * Windows).
     */
    transport: { type: "string" },
    /** With tcp: where to tell the client the port (a file of the user's, beside the secret). */
    "port-file": { type: "string" },
    /** With --daemon: the end of stdin is the stop request (the Windows service host closes it). */
    "stop-on-stdin-close": { type: "boolean", default: false },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`mktunnel-helper: ${message}\n`);
  process.exit(1);
}

if (process.platform !== "win32" && process.getuid?.() !== 0) fail("must run as root");
// The per-session helper: started for one client (an app or CLI run) with --secret-file, and gone with it.
const oneClient = !values.daemon;
const secretFile = oneClient ? (values["secret-file"] ?? fail("--secret-file is required")) : "";
const runtimeDir = oneClient ? (values["runtime-dir"] ?? fail("--runtime-dir is required")) : "";
const logFile = oneClient ? (values["log-file"] ?? fail("--log-file is required")) : "";
const registryFile = oneClient ? (values.registry ?? fail("--registry is required")) : "";

/** The daemonizing parent passes a pipe as fd 3; the helper says "ready" (or why not) on it. */
const READY_FD = 3;

if (values.daemon) {
  // The installed helper, in the foreground: the service manager keeps it running. Its log is stderr: systemd and
  // launchd keep it, and on Windows the service host appends it to helper.log in root's runtime folder.
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const server = await runDaemon(
    values.config ?? fail("--config is required with --daemon"),
    fileURLToPath(import.meta.url),
    log,
  ).catch((error: Error) => fail(error.message));
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void server.shutdown());
  if (values["stop-on-stdin-close"])
    stopWhenInputEnds(process.stdin, () => {
      log("stop requested by the service host (stdin closed)");
      void server.shutdown();
    });
} else if (values.daemonize) {
  // sudo and sudo-prompt wait for the command to end, so the real helper runs detached and this one reports its start.
  const args = process.argv.slice(2).filter((a) => a !== "--daemonize");
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    detached: true,
    stdio: ["ignore", "ignore", "ignore", "pipe"],
    env: { ...process.env, MKTUNNEL_HELPER_READY_FD: String(READY_FD) },
  });
  let said = "";
  const timer = setTimeout(() => fail(`helper did not start within 10 s; see ${logFile}`), 10_000);
  (child.stdio[READY_FD] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => {
    said += chunk.toString();
    if (!said.includes("\n")) return;
    clearTimeout(timer);
    child.unref();
    if (said.startsWith("ready")) process.exit(0);
    fail(said.trim());
  });
  child.once("exit", (code) => fail(`helper exited with code ${code} during start; see ${logFile}`));
} else {
  const readyFd = process.env.MKTUNNEL_HELPER_READY_FD ? Number(process.env.MKTUNNEL_HELPER_READY_FD) : null;
  const report = (line: string) => {
    if (readyFd !== null) writeSync(readyFd, `${line.replace(/\n/g, " ")}\n`);
  };
  const stop = (message: string): never => {
    report(message);
    fail(message);
  };
  const script = fileURLToPath(import.meta.url);
  const secret = await readSecretFile(secretFile).catch((error: Error) => stop(error.message));
  // The log lives in the user's MINIPATH: opened without following links, created for the user, never chowned
  // otherwise.
  const guard = FileGuard.strictFor({ uid: secret.uid, gid: secret.gid });
  const logHandle = await guard.openForAppend(logFile).catch((error: Error) => stop(error.message));
  const log = (line: string) => appendFileSync(logHandle.fd, `${new Date().toISOString()} ${line}\n`);
  // Code root runs must be code only root can change, wherever it lives (a .git above it changes nothing: ~/.nvm is a
  // clone). On Windows, by its DACL: an administrator's own per-user install passes (UAC elevates that same account),
  // a standard user's files under an administrator's elevation do not.
  const problems =
    process.platform === "win32"
      ? writableOnWindows([process.execPath, script])
      : writablePaths([process.execPath, script]);
  if (problems.length > 0) {
    log(`refusing to run: ${problems.join("; ")}`);
    stop(
      process.platform === "win32"
        ? `refusing to run elevated: ${problems[0]} (code that runs elevated must be only administrators' to change; install the helper once with \`mktunnel helper install\` from an elevated prompt)`
        : `refusing to run as root: ${problems[0]} (code that runs as root must be root's; install the helper once with \`sudo mktunnel helper install\`, or run mktunnel itself as root)`,
    );
  }
  await checkRegistryPath(registryFile, secret.uid).catch((error: Error) => stop(error.message));
  await assertNoUserLinks(runtimeDir).catch((error: Error) => stop(error.message));
  await ensureRootDirectory(runtimeDir).catch((error: Error) => stop(error.message));
  const setup = {
    table: routeTableFor(),
    user: { uid: secret.uid, gid: secret.gid },
    runtimeDir,
    allowances: NO_ALLOWANCES,
    log,
  };
  const openSession = async (hello: { registry: string | undefined; pid: number }) => {
    if (hello.registry !== undefined && hello.registry !== registryFile)
      throw new Error(`this helper writes ${registryFile}, not ${hello.registry}`);
    return openRootSession(setup, registryFile, hello);
  };
  const server = new HelperServer(
    {
      socketPath: socketPathFor(runtimeDir, secret.uid),
      uid: secret.uid,
      gid: secret.gid,
      secret: secret.value,
      log,
      mode: "single",
      openSession,
    },
    () => process.exit(0),
  );
  const transport = values.transport ?? (process.platform === "win32" ? "tcp" : "unix");
  if (transport === "tcp") {
    const portFile = values["port-file"] ?? stop("--port-file is required with --transport tcp");
    const { port } = await listenTcp(server, secret.value, log);
    await guard.replace(portFile, `${port}\n`, { mode: 0o600 });
    log(`listening on 127.0.0.1:${port} (challenge–response channel) for uid ${secret.uid}`);
  } else await server.listen();
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void server.shutdown());
  report("ready");
  if (readyFd !== null) closeSync(readyFd);
}
