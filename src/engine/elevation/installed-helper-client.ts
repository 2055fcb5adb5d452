import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import { APP_VERSION } from "../../shared/version.js";
import { HelperClient } from "./helper-client.js";
import { installedSocketPath, secretPathFor } from "./helper-layout.js";

export class HelperVersionMismatch extends Error {
  constructor(readonly installed: string) {
    super(
      `the installed helper is version ${installed}, this is ${APP_VERSION}: run \`sudo mktunnel helper install\` to upgrade it`,
    );
    this.name = "HelperVersionMismatch";
  }
}

/**
 * The installed helper, if one answers for this user: no password, no sudo.
 * null when there is none (or it is not this user's); HelperVersionMismatch
 * when it is another version, so the caller can say so and fall back.
 */
export async function connectInstalledHelper(
  registryPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HelperClient | null> {
  const socket = installedSocketPath(env);
  if (!existsSync(socket)) return null;
  const secret = await readFile(secretPathFor(socket), "utf8").then(
    (s) => s.trim(),
    () => null,
  );
  if (!secret) return null;
  const client = await HelperClient.connect(socket, secret, 2000).catch(() => null);
  if (!client) return null;
  const hello = await client.hello(registryPath).catch(() => null);
  if (!hello) {
    await client.close();
    return null;
  }
  if (hello.version !== APP_VERSION) {
    await client.close();
    throw new HelperVersionMismatch(hello.version);
  }
  return client;
}

/** Whether something listens on the installed helper's socket (whoever it serves). */
export function installedHelperAnswers(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const socket = installedSocketPath(env);
  return new Promise((resolve) => {
    const probe = connect(socket);
    probe.once("connect", () => (probe.destroy(), resolve(true)));
    // Another user's helper refuses us the socket, but it is running.
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EACCES"));
  });
}

/**
 * What the CLI and the app start when they first need root: the installed
 * helper if it answers, else a per-session helper (one password prompt).
 * A version mismatch is told once through `say`, and falls back.
 */
export async function openPrivilegedHelper(
  registryPath: string,
  perSession: () => Promise<HelperClient>,
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  /** The app offers the upgrade instead (once); the CLI says how and falls back. */
  onMismatch?: (installed: string) => Promise<HelperClient>,
): Promise<HelperClient> {
  try {
    const installed = await connectInstalledHelper(registryPath, env);
    if (installed) return installed;
  } catch (error) {
    if (!(error instanceof HelperVersionMismatch)) throw error;
    if (onMismatch) return onMismatch(error.installed);
    say(`${error.message}; asking for a password for this session instead`);
  }
  return perSession();
}
