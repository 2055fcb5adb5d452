import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { HelperClient, HelperError } from "./helper-client.js";
import { runtimeDirFor, socketPathFor } from "./helper-layout.js";
import { makeSecretFolder } from "./secret-folder.js";
import { type HelperDigests, stagedArgv } from "./staged-launch.js";
import { batchCommandLine } from "./command-line-windows.js";

export const APP_NAME = "Minikube Tunnel";

export interface HelperLaunch {
  /** The runtime that runs the helper script (Node ≥ 22, or Electron with ELECTRON_RUN_AS_NODE). */
  readonly runtime: string;
  /** Arguments before the script, such as `--import tsx` when running from source. */
  readonly runtimeArgs: readonly string[];
  readonly script: string;
  readonly runtimeDir: string;
  readonly logFile: string;
  readonly registry: string;
  /**
   * Set when the helper's files are not root-owned (a macOS app in /Applications, an AppImage): root copies and checks
   * them first.
   */
  readonly staged?: { readonly digests: HelperDigests; readonly stageDir: string };
}

export type ElevationMode = "direct" | "sudo" | "gui";

/** Root's runtime directory (helper-layout.ts, runtimeDirFor): /run or /var/run, and %ProgramData% on Windows. */
export function defaultRuntimeDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return runtimeDirFor(platform, env);
}

/** The helper's command line; the secret is never on it, only the path of a file that holds it. */
export function helperArgv(launch: HelperLaunch, secretFile: string): string[] {
  const args = [
    "--daemonize",
    "--secret-file",
    secretFile,
    "--runtime-dir",
    launch.runtimeDir,
    "--log-file",
    launch.logFile,
    "--registry",
    launch.registry,
  ];
  if (launch.staged)
    return stagedArgv(dirname(launch.script), "helper-main.mjs", launch.staged.digests, launch.staged.stageDir, args);
  return [launch.runtime, ...launch.runtimeArgs, launch.script, ...args];
}

/** POSIX single-quoting: sudo-prompt takes one command string, which its shell re-parses. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_\-./=:@%+]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Turns sudo-prompt's and sudo's failures into sentences a user can act on. */
export function explainElevationFailure(error: Error, logTail: string): HelperError {
  const message = error.message;
  if (/did not grant permission|Request dismissed|incorrect password attempts|a password is required/i.test(message)) {
    return new HelperError(`${APP_NAME} needs administrator rights to change routes, and the request was declined`);
  }
  if (/No polkit authentication agent|No authentication agent found/i.test(message)) {
    return new HelperError(
      "no polkit authentication agent is running to ask for the password; start one (for example your desktop's) or run `sudo mktunnel start`",
    );
  }
  if (/Unable to find pkexec or kdesudo/i.test(message)) {
    return new HelperError(
      "neither pkexec nor kdesudo is installed, so the password cannot be asked for; install polkit (pkexec) or run `sudo mktunnel start`",
    );
  }
  return new HelperError(
    `the privileged helper failed to start: ${message}${logTail ? `; its log ends with: ${logTail}` : ""}`,
  );
}

async function logTail(path: string, lines = 5): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trim().split("\n").slice(-lines).join(" | ");
  } catch {
    return "";
  }
}

/** Runs one command as root: the OS dialog (gui), sudo, or directly when already root. */
export function runAsRoot(mode: ElevationMode, argv: string[]): Promise<void> {
  return runElevated(mode, argv).catch((error: Error) => Promise.reject(explainElevationFailure(error, "")));
}

/**
 * The one command string sudo-prompt takes: on macOS and Linux a shell re-parses it (shellQuote, tested through a
 * real /bin/sh); on Windows it becomes a line of a batch file that cmd.exe reads, then the program splits by
 * Microsoft's rules (batchCommandLine, tested through Wine's cmd.exe and Windows' Node).
 */
export function elevatedCommand(argv: readonly string[], platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? batchCommandLine(argv) : shellQuote(argv);
}

function runElevated(mode: ElevationMode, argv: string[]): Promise<void> {
  if (mode === "gui") {
    return import("@vscode/sudo-prompt").then(
      (sudoPrompt) =>
        new Promise<void>((resolve, reject) => {
          sudoPrompt.exec(elevatedCommand(argv), { name: APP_NAME }, (error) => (error ? reject(error) : resolve()));
        }),
    );
  }
  const [file, args] =
    mode === "sudo"
      ? ["sudo", ["--prompt", `[${APP_NAME}] password for %u, to change routes: `, "--", ...argv]]
      : [argv[0]!, argv.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["inherit", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `exit code ${code}`))));
  });
}

/**
 * Starts the helper once (one password prompt) and connects to it. The secret
 * goes through a file in a folder only this user can open (0600 in 0700, or
 * on Windows a DACL: secret-folder.ts); the helper reads it without following
 * links and serves only that file's owner, and this client deletes it once
 * the helper is up.
 */
export async function startHelper(
  launch: HelperLaunch,
  mode: ElevationMode,
  uid = process.getuid?.() ?? 0,
  transport: "unix" | "tcp" = process.platform === "win32" ? "tcp" : "unix",
): Promise<HelperClient> {
  const secret = randomBytes(32).toString("hex");
  const { dir, secretFile, portFile } = await makeSecretFolder(secret);
  let port: number | null = null;
  try {
    // On Windows the helper listens on a loopback port (Node cannot restrict a named pipe to one user) and says which
    // here.
    await runElevated(mode, [
      ...helperArgv(launch, secretFile),
      ...(transport === "tcp" ? ["--transport", "tcp", "--port-file", portFile] : []),
    ]);
    if (transport === "tcp") port = Number((await readFile(portFile, "utf8")).trim());
  } catch (error) {
    throw explainElevationFailure(error as Error, await logTail(launch.logFile));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const client =
    port !== null
      ? await HelperClient.overChannel(port, secret)
      : await HelperClient.connect(socketPathFor(launch.runtimeDir, uid), secret);
  // Closing the connection ends a per-session helper: one that refused our hello must not stay behind.
  await client.hello().catch(async (error: Error) => {
    await client.close();
    throw error;
  });
  return client;
}
