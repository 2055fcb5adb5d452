import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:net";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { routeTableFor } from "../engine/root/routes/platform-route-table.js";
import {
  type HelperConfig,
  helperConfigSchema,
  installedSocketPath,
  secretPathFor,
} from "../engine/elevation/helper-layout.js";
import { type WindowsSecurity, windowsSecurity } from "../engine/elevation/acl-windows.js";
import { notRootOwned, rootFileForUser } from "../engine/elevation/sddl-windows.js";
import { HelperServer } from "./helper-server.js";
import { writableOnWindows, writablePaths } from "./integrity.js";
import { ensureRootDirectory } from "../engine/root/files/root-directory.js";
import { openRootSession } from "./session-factory.js";
import { listenTcp } from "./tcp-listener.js";
import { recordedUserChange } from "./user-identity.js";

export interface DaemonOptions {
  readonly platform?: NodeJS.Platform;
  readonly env?: NodeJS.ProcessEnv;
  readonly windows?: () => WindowsSecurity;
  /** After shutdown (every client's work taken back, the secret removed): the process exits. */
  readonly exit?: () => void;
}

/**
 * The installed helper (`mktunnel helper run`, what the service runs): serves
 * the user install recorded, any number of connections; each connection's
 * routes, ports and names go when it closes. It writes a fresh secret at each
 * start, readable by that user alone: beside its socket (owner and mode let
 * only the user connect), or on Windows, where it listens on a loopback TCP
 * port with a challenge–response on that secret, beside a file naming the
 * port, both in root's runtime directory under %ProgramData%.
 */
export async function runDaemon(
  configPath: string,
  script: string,
  log: (line: string) => void,
  options: DaemonOptions = {},
): Promise<HelperServer> {
  const platform = options.platform ?? process.platform;
  const windows = options.windows ?? windowsSecurity;
  await checkConfigFile(configPath, platform, windows);
  const config = helperConfigSchema.parse(JSON.parse(await readFile(configPath, "utf8")));
  const code = [process.execPath, script, configPath];
  const problems = platform === "win32" ? writableOnWindows(code, windows) : writablePaths(code);
  if (problems.length > 0) throw new Error(`refusing to run as root: ${problems[0]}`);
  // A uid or SID is only a number: if the recorded user is gone and the number now names someone else, or the name
  // someone new, that someone gets nothing.
  const changed = await recordedUserChange(config, platform, windows);
  if (changed) throw new Error(`${changed}; install the helper again for the right user`);

  const socket = installedSocketPath(options.env ?? process.env, platform);
  const runtimeDir = dirname(socket);
  await ensureRootDirectory(runtimeDir, platform, windows);
  const secret = randomBytes(32).toString("hex");
  const secretFile = secretPathFor(socket);
  await writeForUser(secretFile, secret, config, platform, windows);

  const setup = {
    table: routeTableFor(),
    user: { uid: config.uid, gid: config.gid },
    runtimeDir,
    allowances: config.allow,
    log,
  };
  let tcp: Server | null = null;
  const server = new HelperServer(
    {
      socketPath: socket,
      uid: config.uid,
      gid: config.gid,
      secret,
      log,
      mode: "daemon",
      openSession: async (hello) => {
        if (!hello.registry) throw new Error("say hello with the registry path");
        // Checked again at each connection: the account may have gone since the daemon started.
        const gone = await recordedUserChange(config, platform, windows);
        if (gone) throw new Error(`${gone}; the helper serves nobody until it is installed again`);
        return openRootSession(setup, hello.registry, hello);
      },
    },
    // The secret goes with the daemon (and on Windows the port file, which the server does not know of): a stale one
    // would point clients at a socket or port nobody serves.
    () => {
      tcp?.close();
      const files = platform === "win32" ? [secretFile, socket] : [secretFile];
      void Promise.all(files.map((file) => rm(file, { force: true }))).finally(options.exit ?? (() => process.exit(0)));
    },
  );
  if (platform === "win32") {
    const { port, server: listener } = await listenTcp(server, secret, log);
    tcp = listener;
    // Named only once the port listens, and for the recorded user alone: a client that reads it can connect.
    await writeForUser(socket, `${port}\n`, config, platform, windows);
    log(`listening on 127.0.0.1:${port} (challenge–response channel), port in ${socket}`);
  } else await server.listen();
  log(`serving ${config.user} (${platform === "win32" ? config.sid : `uid ${config.uid}`}), version ${config.version}`);
  return server;
}

/**
 * The Windows service host (src/helper/windows-service) asks the daemon to stop by closing its stdin, a pipe only the
 * host holds: Node on Windows gets no SIGTERM (process.kill there is TerminateProcess) and shares no console with the
 * host for a Ctrl+C. What arrives on it is discarded; its end, or an error on it, stops the daemon once.
 */
export function stopWhenInputEnds(input: Readable, stop: () => void): void {
  let stopped = false;
  const once = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  input.on("end", once).on("error", once).on("close", once);
  input.resume();
}

/**
 * The record of what root serves must be root's alone. POSIX: a root-owned regular file nobody else can write.
 * Windows (Node reports uid 0 and mode 0666 for every file there): a regular file, not a link, owned by SYSTEM,
 * Administrators or this service's own account, whose DACL lets nobody else change it.
 */
async function checkConfigFile(path: string, platform: NodeJS.Platform, windows: () => WindowsSecurity) {
  const info = await lstat(path);
  if (platform === "win32") {
    const security = windows();
    const problem = info.isFile() ? notRootOwned(security.describe(path), security.processUserSid()) : "not a file";
    if (problem) throw new Error(`${path} must be a file only SYSTEM and Administrators can change, but ${problem}`);
  } else if (!info.isFile() || info.uid !== 0 || (info.mode & 0o022) !== 0)
    throw new Error(`${path} must be a root-owned file nobody else can write`);
}

/**
 * A new file for the recorded user to read, put in place by a rename so a client never reads half of it. POSIX: 0400
 * and the user's (on macOS every user's primary group is staff, so a group-readable secret would be everyone's).
 * Windows: created with a DACL for SYSTEM, Administrators and the recorded user's SID, in the same call.
 */
async function writeForUser(
  path: string,
  text: string,
  config: HelperConfig,
  platform: NodeJS.Platform,
  windows: () => WindowsSecurity,
): Promise<void> {
  const temp = `${path}.new`;
  await rm(temp, { force: true });
  if (platform === "win32") {
    windows().createFile(temp, text, rootFileForUser(config.sid!));
  } else {
    await writeFile(temp, text, { mode: 0o600, flag: "wx" });
    await chown(temp, config.uid, config.gid);
    await chmod(temp, 0o400);
  }
  await rename(temp, path);
}
