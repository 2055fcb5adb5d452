import { join as nativeJoin, posix, win32 } from "node:path";
import { z } from "zod";
import { allowancesSchema } from "../root/index.js";

/** The installed helper's service name, in every service manager. */
export const DAEMON_NAME = "minikube-tunnel-helper";
export const LAUNCHD_LABEL = "io.minikube-tunnel.helper";
/** `--prefix`'s default: the system's own places (on Windows, %ProgramFiles% and %ProgramData%). */
export const SYSTEM_PREFIX = "/";

const pathsOf = (platform: NodeJS.Platform) => (platform === "win32" ? win32 : posix);

/** C:\… or \\server\share\…: a Windows path that names its drive (never `\x`, which is relative to the current one). */
export function isFullWindowsPath(path: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(path) || /^\\\\[^\\/?.]+[\\/][^\\/]+/.test(path);
}

/** One of Windows' known folders from its variable, or under the system drive when the variable is unset or not a full path. */
function windowsFolder(env: NodeJS.ProcessEnv, variable: "ProgramFiles" | "ProgramData", name: string): string {
  const value = env[variable];
  if (value && isFullWindowsPath(value)) return value;
  const drive = env.SystemDrive && /^[A-Za-z]:$/.test(env.SystemDrive) ? env.SystemDrive : "C:";
  return win32.join(`${drive}\\`, name);
}

/**
 * Root's runtime directory: records of what each session set, the stage, and the installed helper's channel. Linux and
 * macOS: root's run directory. Windows: %ProgramData%\minikube-tunnel (Windows has no /run; a POSIX path would land
 * on whatever drive is current).
 */
export function runtimeDirFor(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env) {
  if (platform === "win32") return win32.join(windowsFolder(env, "ProgramData", "ProgramData"), "minikube-tunnel");
  return platform === "darwin" ? "/var/run/minikube-tunnel" : "/run/minikube-tunnel";
}

/**
 * Where the installed helper's files go, under `prefix` (SYSTEM_PREFIX for a real install; another directory for
 * packagers and tests). On Windows a prefix is a full Windows path, and the system's places are %ProgramFiles% and
 * %ProgramData%.
 */
export function helperLayout(
  prefix: string,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
) {
  const { join } = pathsOf(platform);
  const under = (...parts: string[]) => join(prefix, ...parts);
  let libexec: string;
  let config: string;
  if (platform === "win32") {
    const system = prefix === SYSTEM_PREFIX;
    if (!system && !isFullWindowsPath(prefix))
      throw new Error(`--prefix must be a full Windows path such as C:\\stage, not ${prefix}`);
    libexec = join(
      system ? windowsFolder(env, "ProgramFiles", "Program Files") : under("Program Files"),
      "Minikube Tunnel Helper",
    );
    config = join(system ? windowsFolder(env, "ProgramData", "ProgramData") : under("ProgramData"), "Minikube Tunnel");
  } else if (platform === "darwin") {
    libexec = under("Library", "PrivilegedHelperTools", "minikube-tunnel");
    config = under("Library", "Application Support", "minikube-tunnel");
  } else {
    libexec = under("usr", "local", "libexec", "minikube-tunnel");
    config = under("etc", "minikube-tunnel");
  }
  return {
    libexec,
    runtime: join(libexec, platform === "win32" ? "node.exe" : "node"),
    cli: join(libexec, "mktunnel.mjs"),
    helper: join(libexec, "helper-main.mjs"),
    configDir: config,
    config: join(config, "helper.json"),
    service:
      platform === "darwin"
        ? under("Library", "LaunchDaemons", `${LAUNCHD_LABEL}.plist`)
        : platform === "win32"
          ? join(config, `${DAEMON_NAME}.json`)
          : under("etc", "systemd", "system", `${DAEMON_NAME}.service`),
  };
}

export type HelperLayout = ReturnType<typeof helperLayout>;

/** The per-session helper's socket for a user, in its root-owned runtime directory. */
export function socketPathFor(runtimeDir: string, uid: number): string {
  return nativeJoin(runtimeDir, `helper-${uid}.sock`);
}

/**
 * The well-known socket; MKTUNNEL_HELPER_SOCKET moves it, for daemon and client alike (tests). On Windows the helper
 * listens on a loopback TCP port instead (docs/security.md, "Windows: the helper's channel"), and this is the file in
 * the runtime directory that names the port: a real file, never a name in the `\\.\pipe\` namespace.
 */
export function installedSocketPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.MKTUNNEL_HELPER_SOCKET) return env.MKTUNNEL_HELPER_SOCKET;
  return platform === "win32"
    ? win32.join(runtimeDirFor(platform, env), "helper.port")
    : "/var/run/minikube-tunnel/helper.sock";
}

/** The daemon writes a fresh secret beside its socket (or port file) at every start, readable by the recorded user alone. */
export function secretPathFor(socket: string): string {
  return `${socket}.secret`;
}

/** What install records, root-owned: who may use the helper, and every file it put in place. */
export const helperConfigSchema = z.strictObject({
  version: z.string(),
  user: z.string(),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  /** Windows: the recorded user's SID (uid and gid are 0 there); the daemon serves nobody once the name has another. */
  sid: z.string().optional(),
  prefix: z.string(),
  installedAt: z.string(),
  files: z.array(z.string()),
  /** Directories install had to make, removed again by uninstall when empty. */
  dirs: z.array(z.string()),
  /**
   * What the administrator allowed beyond the fixed rules (docs/security.md), at install: root-owned, never from a
   * user's file.
   */
  allow: allowancesSchema.default({ cidrs: [], domains: [] }),
});

export type HelperConfig = z.infer<typeof helperConfigSchema>;
