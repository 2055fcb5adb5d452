import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { routeTableFor } from "../engine/root/routes/platform-route-table.js";
import { helperConfigSchema, installedSocketPath, secretPathFor } from "../engine/elevation/helper-layout.js";
import { HelperServer } from "./helper-server.js";
import { writablePaths } from "./integrity.js";
import { openRootSession } from "./session-factory.js";
import { uidOfUser } from "./user-identity.js";

/**
 * The installed helper (`mktunnel helper run`, what the service runs): serves
 * the user install recorded, over the well-known socket, any number of
 * connections; each connection's routes, ports and names go when it closes.
 * It authenticates clients by the socket's owner and mode, and by a secret it
 * writes beside the socket at each start, readable by that user alone.
 */
export async function runDaemon(
  configPath: string,
  script: string,
  log: (line: string) => void,
): Promise<HelperServer> {
  const info = await lstat(configPath);
  if (!info.isFile() || info.uid !== 0 || (info.mode & 0o022) !== 0)
    throw new Error(`${configPath} must be a root-owned file nobody else can write`);
  const config = helperConfigSchema.parse(JSON.parse(await readFile(configPath, "utf8")));
  const problems = writablePaths([process.execPath, script, configPath]);
  if (problems.length > 0) throw new Error(`refusing to run as root: ${problems[0]}`);
  // A uid is only a number: if the recorded user is gone and the number now names someone else, that someone gets
  // nothing.
  const uid = await uidOfUser(config.user);
  if (uid !== config.uid)
    throw new Error(
      `the recorded user ${config.user} is uid ${uid ?? "(no such user)"} now, not uid ${config.uid} as when the helper was installed; install it again for the right user`,
    );

  const socket = installedSocketPath();
  const runtimeDir = dirname(socket);
  await mkdir(runtimeDir, { recursive: true, mode: 0o755 });
  const dirInfo = await stat(runtimeDir);
  if (dirInfo.uid !== 0 || (dirInfo.mode & 0o022) !== 0)
    throw new Error(`${runtimeDir} must be owned by root and not writable by others`);
  const secret = randomBytes(32).toString("hex");
  const secretFile = secretPathFor(socket);
  await rm(`${secretFile}.new`, { force: true });
  await writeFile(`${secretFile}.new`, secret, { mode: 0o600, flag: "wx" });
  // The user's alone: on macOS every user's primary group is staff, so a group-readable secret would be everyone's.
  await chown(`${secretFile}.new`, config.uid, config.gid);
  await chmod(`${secretFile}.new`, 0o400);
  await rename(`${secretFile}.new`, secretFile);

  const setup = {
    table: routeTableFor(),
    user: { uid: config.uid, gid: config.gid },
    runtimeDir,
    allowances: config.allow,
    log,
  };
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
        if ((await uidOfUser(config.user)) !== config.uid)
          throw new Error(
            `the recorded user ${config.user} is no longer uid ${config.uid}; the helper serves nobody until it is installed again`,
          );
        return openRootSession(setup, hello.registry, hello);
      },
    },
    // The secret goes with the daemon: a stale one would point clients at a socket nobody serves.
    () => void rm(secretFile, { force: true }).finally(() => process.exit(0)),
  );
  await server.listen();
  log(`serving ${config.user} (uid ${config.uid}), version ${config.version}`);
  return server;
}
