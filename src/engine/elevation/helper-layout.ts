import { join } from "node:path";
import { z } from "zod";
import { allowancesSchema } from "../root/index.js";

/** The installed helper's service name, in every service manager. */
export const DAEMON_NAME = "minikube-tunnel-helper";
export const LAUNCHD_LABEL = "io.minikube-tunnel.helper";

/**
 * Where the installed helper's files go, under `prefix` ("/" for a real install; another directory for packagers and
 * tests).
 */
export function helperLayout(prefix: string, platform: NodeJS.Platform = process.platform) {
  const under = (...parts: string[]) => join(prefix, ...parts);
  const libexec =
    platform === "darwin"
      ? under("Library", "PrivilegedHelperTools", "minikube-tunnel")
      : platform === "win32"
        ? under("Program Files", "Minikube Tunnel Helper")
        : under("usr", "local", "libexec", "minikube-tunnel");
  const config =
    platform === "win32"
      ? under("ProgramData", "Minikube Tunnel")
      : platform === "darwin"
        ? under("Library", "Application Support", "minikube-tunnel")
        : under("etc", "minikube-tunnel");
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
  return join(runtimeDir, `helper-${uid}.sock`);
}

/** The well-known socket; MKTUNNEL_HELPER_SOCKET moves it, for daemon and client alike (tests). */
export function installedSocketPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (env.MKTUNNEL_HELPER_SOCKET) return env.MKTUNNEL_HELPER_SOCKET;
  return platform === "win32" ? "\\\\.\\pipe\\minikube-tunnel-helper" : "/var/run/minikube-tunnel/helper.sock";
}

/** The daemon writes a fresh secret beside its socket at every start, readable by the recorded user alone. */
export function secretPathFor(socket: string): string {
  return `${socket}.secret`;
}

/** What install records, root-owned: who may use the helper, and every file it put in place. */
export const helperConfigSchema = z.strictObject({
  version: z.string(),
  user: z.string(),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
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
