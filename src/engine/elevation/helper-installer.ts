import {
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { type CommandRunner, execFileRunner } from "../system/command-runner.js";
import { APP_VERSION } from "../../shared/version.js";
import { type Allowances, NO_ALLOWANCES, allowancesSchema } from "../root/index.js";
import { type HelperConfig, LAUNCHD_LABEL, DAEMON_NAME, helperConfigSchema, helperLayout } from "./helper-layout.js";
import { launchdPlist, systemdUnit, windowsServiceArgs } from "./daemon-definitions.js";

/**
 * What the installed helper runs: a Node runtime, the CLI bundle (for `helper run`), the helper bundle, and the native
 * packages they load.
 */
export interface HelperSources {
  readonly runtime: string;
  readonly cli: string;
  readonly helper: string;
  /** Package directories the bundles leave external (koffi and its prebuilt for this OS and CPU). */
  readonly packages: readonly { readonly name: string; readonly dir: string }[];
}

export interface InstallOptions {
  readonly prefix: string;
  readonly user: string;
  readonly noStart: boolean;
  readonly sources: HelperSources;
  /**
   * What the administrator allows beyond the fixed rules (networks outside the private ranges, public domains); none by
   * default.
   */
  readonly allow?: Allowances;
  readonly platform?: NodeJS.Platform;
  readonly runner?: CommandRunner;
}

export interface InstallResult {
  readonly version: string;
  readonly upgradedFrom: string | null;
  readonly files: string[];
  readonly started: boolean;
}

export class HelperInstallError extends Error {}

async function idOf(user: string, flag: "-u" | "-g", runner: CommandRunner): Promise<number> {
  const result = await runner.run("id", [flag, user], { timeoutMs: 10_000 });
  const n = Number(result.stdout.trim());
  if (result.exitCode !== 0 || !Number.isInteger(n)) throw new HelperInstallError(`no such user "${user}"`);
  return n;
}

/** Root-owned and writable by nobody else: the point of installing it. */
async function place(path: string, data: Buffer | string, mode: number): Promise<void> {
  const temp = `${path}.installing`;
  await rm(temp, { force: true });
  await writeFile(temp, data, { mode, flag: "wx" });
  await chown(temp, 0, 0);
  await chmod(temp, mode);
  // A rename replaces a running runtime without touching the old file (an upgrade while it runs).
  await rename(temp, path);
}

/** Makes the directory and any missing parents root-owned 0755; answers the ones it made, deepest last. */
async function rootDir(path: string): Promise<string[]> {
  const made: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    if (
      await stat(dir).then(
        () => true,
        () => false,
      )
    )
      break;
    made.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  await mkdir(path, { recursive: true, mode: 0o755 });
  for (const dir of made) {
    await chown(dir, 0, 0);
    await chmod(dir, 0o755);
  }
  return made;
}

/** A package copied root-owned, readable by all, writable by root only. */
async function copyTree(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true, dereference: true });
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    await chown(path, 0, 0);
    await chmod(path, info.isDirectory() || (info.mode & 0o111) !== 0 ? 0o755 : 0o644);
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await mkdir(dirname(to), { recursive: true, mode: 0o755 });
  await walk(dirname(to));
}

export async function readHelperConfig(
  prefix: string,
  platform: NodeJS.Platform = process.platform,
): Promise<HelperConfig | null> {
  const text = await readFile(helperLayout(prefix, platform).config, "utf8").catch(() => null);
  if (text === null) return null;
  const parsed = helperConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new HelperInstallError(
      `${helperLayout(prefix, platform).config} is not a helper record of ours; not touching it`,
    );
  return parsed.data;
}

async function serviceManager(
  platform: NodeJS.Platform,
  runner: CommandRunner,
  action: "start" | "stop",
  servicePath: string,
): Promise<void> {
  const run = async (file: string, args: string[], okCodes = [0]) => {
    const result = await runner.run(file, args, { timeoutMs: 30_000 });
    if (!okCodes.includes(result.exitCode))
      throw new HelperInstallError(`${file} ${args.join(" ")} failed: ${(result.stderr || result.stdout).trim()}`);
  };
  if (platform === "darwin") {
    if (action === "stop") return run("launchctl", ["bootout", `system/${LAUNCHD_LABEL}`], [0, 3, 36, 113]);
    return run("launchctl", ["bootstrap", "system", servicePath]);
  }
  if (platform === "win32") {
    if (action === "stop") {
      await run("sc.exe", ["stop", DAEMON_NAME], [0, 1060, 1062]);
      return run("sc.exe", ["delete", DAEMON_NAME], [0, 1060]);
    }
    return run("sc.exe", ["start", DAEMON_NAME]);
  }
  if (action === "stop") return run("systemctl", ["disable", "--now", `${DAEMON_NAME}.service`], [0, 1, 5]);
  await run("systemctl", ["daemon-reload"]);
  await run("systemctl", ["enable", "--now", `${DAEMON_NAME}.service`]);
  await run("systemctl", ["restart", `${DAEMON_NAME}.service`]);
}

/**
 * `mktunnel helper install` (docs/architecture.md, "The installed helper"):
 * one elevation puts the runtime and the helper in a root-owned place,
 * registers the system service, and records which user may use it. Running
 * it again upgrades in place.
 */
export async function installHelper(options: InstallOptions): Promise<InstallResult> {
  const platform = options.platform ?? process.platform;
  const runner = options.runner ?? execFileRunner;
  if (platform !== "win32" && process.getuid?.() !== 0)
    throw new HelperInstallError("installing the helper needs root: run it with sudo");
  const layout = helperLayout(options.prefix, platform);
  const previous = await readHelperConfig(options.prefix, platform);
  const real = options.prefix === "/" && !options.noStart;
  if (previous && real) await serviceManager(platform, runner, "stop", layout.service).catch(() => undefined);
  const uid = platform === "win32" ? 0 : await idOf(options.user, "-u", runner);
  const gid = platform === "win32" ? 0 : await idOf(options.user, "-g", runner);
  const dirs = [...(previous?.dirs ?? [])];
  for (const dir of [layout.libexec, layout.configDir, dirname(layout.service)])
    for (const made of await rootDir(dir)) if (!dirs.includes(made)) dirs.push(made);
  await place(layout.runtime, await readFile(options.sources.runtime), 0o755);
  await place(layout.cli, await readFile(options.sources.cli), 0o644);
  await place(layout.helper, await readFile(options.sources.helper), 0o644);
  const modules = join(layout.libexec, "node_modules");
  await rm(modules, { recursive: true, force: true });
  for (const pkg of options.sources.packages) await copyTree(pkg.dir, join(modules, pkg.name));
  const definition =
    platform === "darwin"
      ? launchdPlist(layout, options.prefix)
      : platform === "win32"
        ? `${JSON.stringify({ sc: windowsServiceArgs(layout, options.prefix) }, null, 2)}\n`
        : systemdUnit(layout, options.prefix);
  await place(layout.service, definition, 0o644);
  const files = [
    layout.runtime,
    layout.cli,
    layout.helper,
    ...(options.sources.packages.length > 0 ? [modules] : []),
    layout.service,
    layout.config,
  ];
  const allow = allowancesSchema.parse(options.allow ?? NO_ALLOWANCES);
  const config: HelperConfig = {
    version: APP_VERSION,
    user: options.user,
    uid,
    gid,
    prefix: options.prefix,
    installedAt: new Date().toISOString(),
    files,
    dirs,
    allow,
  };
  await place(layout.config, `${JSON.stringify(config, null, 2)}\n`, 0o644);
  if (real) {
    if (platform === "win32")
      await runner.run("sc.exe", windowsServiceArgs(layout, options.prefix), { timeoutMs: 30_000 });
    await serviceManager(platform, runner, "start", layout.service);
  }
  return { version: APP_VERSION, upgradedFrom: previous?.version ?? null, files, started: real };
}

/** `mktunnel helper uninstall`: the service stopped and every file install put in place removed. */
export async function uninstallHelper(
  prefix: string,
  options: { platform?: NodeJS.Platform; runner?: CommandRunner } = {},
): Promise<string[]> {
  const platform = options.platform ?? process.platform;
  const config = await readHelperConfig(prefix, platform);
  if (!config) return [];
  const layout = helperLayout(prefix, platform);
  if (prefix === "/")
    await serviceManager(platform, options.runner ?? execFileRunner, "stop", layout.service).catch(() => undefined);
  for (const file of config.files) await rm(file, { recursive: true, force: true });
  // Only directories install made, deepest first, and only if nothing else is in them.
  for (const dir of [...config.dirs].sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => undefined);
  return config.files;
}
