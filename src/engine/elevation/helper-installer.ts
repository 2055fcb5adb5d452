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
import { type Allowances, NO_ALLOWANCES, allowancesSchema, ensureRootDirectory } from "../root/index.js";
import {
  type HelperConfig,
  LAUNCHD_LABEL,
  DAEMON_NAME,
  SYSTEM_PREFIX,
  helperConfigSchema,
  helperLayout,
  installedSocketPath,
  runtimeDirFor,
  secretPathFor,
} from "./helper-layout.js";
import {
  SERVICE_HOST_EXE,
  launchdPlist,
  systemdUnit,
  windowsRecoveryArgs,
  windowsServiceArgs,
} from "./daemon-definitions.js";
import { type WindowsSecurity, windowsSecurity } from "./acl-windows.js";
import { ROOT_CODE_SDDL, notRootOwned } from "./sddl-windows.js";
import { removeWindowsService } from "./service-manager-windows.js";

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
  /** Windows: the service host (mktunnel-helper-service.exe); by default the one the package has beside the CLI. */
  readonly serviceHost?: string;
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
  readonly windows?: () => WindowsSecurity;
  /** Root's runtime folder; `runtimeDirFor(platform)` by default (tests give a temporary one). */
  readonly runtimeDir?: string;
}

export interface InstallResult {
  readonly version: string;
  readonly upgradedFrom: string | null;
  readonly files: string[];
  readonly started: boolean;
  /** What was installed but not as asked (Windows: recovery the SCM refused), for the caller to say. */
  readonly warnings: string[];
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

/**
 * Makes the directory and any missing parents root-owned 0755; answers the ones it made, deepest last. On Windows,
 * where chown and modes do nothing, each is created with a protected DACL (SYSTEM and Administrators change it, users
 * read and run it), which the files put in it inherit.
 */
async function rootDir(path: string, platform: NodeJS.Platform, windows: () => WindowsSecurity): Promise<string[]> {
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
  if (platform === "win32") {
    const security = windows();
    for (const dir of made) security.createDirectory(dir, ROOT_CODE_SDDL);
    // One that was there already (any user may make a folder in %ProgramData%) must not be a user's to change.
    const problem = notRootOwned(security.describe(path), security.processUserSid());
    if (problem)
      throw new HelperInstallError(`${path} must be a folder only administrators can change, but ${problem}`);
    return made;
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
    if (action === "stop") return removeWindowsService(runner);
    return run("sc.exe", ["start", DAEMON_NAME]);
  }
  if (action === "stop") return run("systemctl", ["disable", "--now", `${DAEMON_NAME}.service`], [0, 1, 5]);
  await run("systemctl", ["daemon-reload"]);
  await run("systemctl", ["enable", "--now", `${DAEMON_NAME}.service`]);
  await run("systemctl", ["restart", `${DAEMON_NAME}.service`]);
}

/**
 * Windows: root's runtime folder (%ProgramData%\minikube-tunnel) made the administrators' before the service is
 * registered. Any user may create it first; the service would then refuse it at every start, and nobody would be told.
 * Checked before anything is changed, so a refused install leaves the machine as it was.
 */
async function ensureWindowsRuntimeFolder(dir: string, windows: () => WindowsSecurity): Promise<void> {
  await ensureRootDirectory(dir, "win32", windows).catch((error: Error) => {
    throw new HelperInstallError(
      `root's runtime folder ${dir} is not safe for the helper: ${error.message}. If a user made it (any user can create a folder in %ProgramData%), an administrator should check what is in it, delete it, and install again: the install creates it for SYSTEM and Administrators alone`,
    );
  });
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
  const windows = options.windows ?? windowsSecurity;
  if (platform !== "win32" && process.getuid?.() !== 0)
    throw new HelperInstallError("installing the helper needs root: run it with sudo");
  const layout = helperLayout(options.prefix, platform);
  const previous = await readHelperConfig(options.prefix, platform);
  const real = options.prefix === SYSTEM_PREFIX && !options.noStart;
  if (platform === "win32" && real)
    await ensureWindowsRuntimeFolder(options.runtimeDir ?? runtimeDirFor(platform), windows);
  if (previous && real) await serviceManager(platform, runner, "stop", layout.service).catch(() => undefined);
  // Windows has no uids: the user is recorded by SID, which the daemon checks the name still has.
  const sid = platform === "win32" ? windows().accountSid(options.user) : null;
  if (platform === "win32" && !sid) throw new HelperInstallError(`no such user "${options.user}"`);
  const uid = platform === "win32" ? 0 : await idOf(options.user, "-u", runner);
  const gid = platform === "win32" ? 0 : await idOf(options.user, "-g", runner);
  const dirs = [...(previous?.dirs ?? [])];
  for (const dir of [layout.libexec, layout.configDir, dirname(layout.service)])
    for (const made of await rootDir(dir, platform, windows)) if (!dirs.includes(made)) dirs.push(made);
  await place(layout.runtime, await readFile(options.sources.runtime), 0o755);
  await place(layout.cli, await readFile(options.sources.cli), 0o644);
  await place(layout.helper, await readFile(options.sources.helper), 0o644);
  // Windows: the program the SCM runs (node.exe cannot be a service), from beside the CLI as the package lays it out.
  const serviceHost = platform === "win32" ? join(layout.libexec, SERVICE_HOST_EXE) : null;
  if (serviceHost) {
    const source = options.sources.serviceHost ?? join(dirname(options.sources.cli), SERVICE_HOST_EXE);
    const program = await readFile(source).catch(() => {
      throw new HelperInstallError(
        `the package has no ${SERVICE_HOST_EXE} at ${source}; the service cannot run without it`,
      );
    });
    await place(serviceHost, program, 0o755);
  }
  const modules = join(layout.libexec, "node_modules");
  await rm(modules, { recursive: true, force: true });
  for (const pkg of options.sources.packages) await copyTree(pkg.dir, join(modules, pkg.name));
  const definition =
    platform === "darwin"
      ? launchdPlist(layout, options.prefix)
      : platform === "win32"
        ? `${JSON.stringify({ sc: windowsServiceArgs(layout), recovery: windowsRecoveryArgs() }, null, 2)}\n`
        : systemdUnit(layout, options.prefix);
  await place(layout.service, definition, 0o644);
  const files = [
    layout.runtime,
    layout.cli,
    layout.helper,
    ...(serviceHost ? [serviceHost] : []),
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
    ...(sid ? { sid } : {}),
    prefix: options.prefix,
    installedAt: new Date().toISOString(),
    files,
    dirs,
    allow,
  };
  await place(layout.config, `${JSON.stringify(config, null, 2)}\n`, 0o644);
  const warnings: string[] = [];
  if (real) {
    if (platform === "win32") {
      const created = await runner.run("sc.exe", windowsServiceArgs(layout), { timeoutMs: 30_000 });
      if (created.exitCode !== 0)
        throw new HelperInstallError(`sc.exe create failed: ${(created.stdout || created.stderr).trim()}`);
      // Restarting a helper that died is a comfort, not a condition: without it the service still runs (Wine's sc has
      // no failureflag, for one).
      for (const args of windowsRecoveryArgs()) {
        const set = await runner.run("sc.exe", args, { timeoutMs: 30_000 });
        if (set.exitCode !== 0)
          warnings.push(
            `sc.exe ${args.join(" ")} failed (${set.exitCode}), so the service is not restarted if the helper dies: ${(set.stdout || set.stderr).trim()}`,
          );
      }
    }
    await serviceManager(platform, runner, "start", layout.service);
  }
  return { version: APP_VERSION, upgradedFrom: previous?.version ?? null, files, started: real, warnings };
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
  if (prefix === SYSTEM_PREFIX) {
    await serviceManager(platform, options.runner ?? execFileRunner, "stop", layout.service).catch(() => undefined);
    // A helper that stops removes its channel files; one that was killed (or ended by a service manager that cannot
    // ask it to stop) leaves them behind, and a stale port would be tried.
    if (platform === "win32")
      for (const file of [
        installedSocketPath(process.env, platform),
        secretPathFor(installedSocketPath(process.env, platform)),
      ])
        await rm(file, { force: true });
  }
  for (const file of config.files) await rm(file, { recursive: true, force: true });
  // Only directories install made, deepest first, and only if nothing else is in them.
  for (const dir of [...config.dirs].sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => undefined);
  return config.files;
}
