import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { InProcessNames } from "../engine/root/names/names-writer.js";
import { loopbackAliasesFor } from "../engine/root/loopback/loopback-aliases.js";
import { routeTableFor } from "../engine/root/routes/platform-route-table.js";
import { helperConfigSchema, installedSocketPath, secretPathFor } from "../engine/elevation/helper-layout.js";
import { currentProcessIdentity } from "../engine/registry/process-liveness.js";
import { RegistryFile } from "../engine/registry/registry-file.js";
import { RouteRegistrar } from "../engine/root/routes/route-transaction.js";
import { FileGuard, assertNoUserLinks } from "../engine/root/files/guarded-files.js";
import { HelperServer } from "./helper-server.js";
import { HelperSession } from "./helper-session.js";
import { isSourceCheckout, writablePaths } from "./integrity.js";

/**
 * The installed helper (`mktunnel helper run`, what the service runs): serves
 * the user install recorded, over the well-known socket, any number of
 * connections; each connection's routes, ports and names go when it closes.
 * It authenticates clients by the socket's owner and mode, and by a secret it
 * writes beside the socket at each start for that user's group only.
 */
export async function runDaemon(configPath: string, script: string, log: (line: string) => void): Promise<HelperServer> {
  const info = await lstat(configPath);
  if (!info.isFile() || info.uid !== 0 || (info.mode & 0o022) !== 0) throw new Error(`${configPath} must be a root-owned file nobody else can write`);
  const config = helperConfigSchema.parse(JSON.parse(await readFile(configPath, "utf8")));
  const problems = writablePaths([process.execPath, script, configPath]);
  if (problems.length > 0 && !isSourceCheckout(script)) throw new Error(`refusing to run as root: ${problems[0]}`);

  const socket = installedSocketPath();
  const runtimeDir = dirname(socket);
  await mkdir(runtimeDir, { recursive: true, mode: 0o755 });
  const dirInfo = await stat(runtimeDir);
  if (dirInfo.uid !== 0 || (dirInfo.mode & 0o022) !== 0) throw new Error(`${runtimeDir} must be owned by root and not writable by others`);
  const secret = randomBytes(32).toString("hex");
  const secretFile = secretPathFor(socket);
  await rm(`${secretFile}.new`, { force: true });
  await writeFile(`${secretFile}.new`, secret, { mode: 0o600, flag: "wx" });
  await chown(`${secretFile}.new`, 0, config.gid);
  await chmod(`${secretFile}.new`, 0o640);
  await rename(`${secretFile}.new`, secretFile);

  const identity = await currentProcessIdentity();
  const table = routeTableFor();
  let sessions = 0;
  const server = new HelperServer(
    {
      socketPath: socket,
      uid: config.uid,
      gid: config.gid,
      secret,
      log,
      mode: "daemon",
      openSession: async (registry) => {
        if (!registry) throw new Error("say hello with the registry path first");
        await checkRegistry(registry, config.uid);
        const tag = `s${++sessions}`;
        const file = new RegistryFile(registry, { guard: FileGuard.strictFor({ uid: config.uid, gid: config.gid }) });
        return new HelperSession({ registrar: new RouteRegistrar(table, file, identity), table, registry: file, log: (line) => log(`[${tag}] ${line}`), aliases: loopbackAliasesFor(), names: await InProcessNames.create(runtimeDir, { tag }) });
      },
    },
    // The secret goes with the daemon: a stale one would point clients at a socket nobody serves.
    () => void rm(secretFile, { force: true }).finally(() => process.exit(0)),
  );
  await server.listen();
  log(`serving ${config.user} (uid ${config.uid}), version ${config.version}`);
  return server;
}

/** The client names its registry; root writes it only if it is the recorded user's tunnels.json, reached without links. */
async function checkRegistry(path: string, uid: number): Promise<void> {
  if (basename(path) !== "tunnels.json") throw new Error(`the registry must be a tunnels.json file, not ${path}`);
  await assertNoUserLinks(dirname(path));
  const info = await lstat(dirname(path));
  if (info.uid !== uid && info.uid !== 0) throw new Error(`${dirname(path)} belongs to uid ${info.uid}, not to the helper's user ${uid}`);
}
