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
  platform: NodeJS.Platform = process.platform,
): Promise<HelperClient | null> {
  const socket = installedSocketPath(env, platform);
  const secret = await readTrimmed(secretPathFor(socket));
  if (!secret) return null;
  // Windows: a loopback port, named in a file beside the secret that only the recorded user (and root) can read.
  const client =
    platform === "win32"
      ? await readPort(socket).then((port) =>
          port === null ? null : HelperClient.overChannel(port, secret).catch(() => null),
        )
      : existsSync(socket)
        ? await HelperClient.connect(socket, secret, 2000).catch(() => null)
        : null;
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

const readTrimmed = (path: string) =>
  readFile(path, "utf8").then(
    (s) => s.trim(),
    () => null,
  );

async function readPort(file: string): Promise<number | null> {
  const text = await readTrimmed(file);
  return text && /^\d{1,5}$/.test(text) && Number(text) > 0 && Number(text) < 65536 ? Number(text) : null;
}

/** Whether something listens on the installed helper's socket, or on Windows its port (whoever it serves). */
export async function installedHelperAnswers(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean> {
  const socket = installedSocketPath(env, platform);
  if (platform === "win32") {
    // Another user's helper: its port file is not ours to read, but it is there.
    const port = await readFile(socket, "utf8").then(
      (text) => (/^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : null),
      (error: NodeJS.ErrnoException) => (error.code === "EPERM" || error.code === "EACCES" ? "theirs" : null),
    );
    if (port === "theirs") return true;
    if (port === null) return false;
    return answers({ host: "127.0.0.1", port });
  }
  return answers({ path: socket });
}

function answers(target: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(target);
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
