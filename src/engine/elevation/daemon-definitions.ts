import { win32 } from "node:path";
import { type HelperLayout, LAUNCHD_LABEL, DAEMON_NAME, runtimeDirFor } from "./helper-layout.js";
import { windowsCommandLine } from "./command-line-windows.js";

/**
 * The Windows service program (src/helper/windows-service, built with MinGW by scripts/windows-service-host.ts),
 * shipped beside the helper's node.exe and installed beside it.
 */
export const SERVICE_HOST_EXE = "mktunnel-helper-service.exe";

/** The command systemd and launchd run: the installed runtime and CLI, `helper run` (Windows: windowsServiceCommand). */
export function daemonArgv(layout: HelperLayout, prefix: string): string[] {
  return [layout.runtime, layout.cli, "helper", "run", "--prefix", prefix];
}

/** systemd.exec(5) quoting: each word in double quotes, with \ and " escaped. */
function systemdQuote(argv: readonly string[]): string {
  return argv.map((a) => `"${a.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(" ");
}

/**
 * A systemd system unit (systemd.service(5)). RuntimeDirectory makes
 * /run/minikube-tunnel, root-owned 0755, where the socket lives; Restart
 * brings the helper back if it dies (its clients' work is taken back first:
 * the kernel closes their connections).
 */
export function systemdUnit(layout: HelperLayout, prefix: string): string {
  return [
    "[Unit]",
    "Description=Minikube Tunnel network helper (routes, forwarded ports and cluster names for one user)",
    "After=network.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${systemdQuote(daemonArgv(layout, prefix))}`,
    "Restart=on-failure",
    "RestartSec=2",
    "RuntimeDirectory=minikube-tunnel",
    "RuntimeDirectoryMode=0755",
    "RuntimeDirectoryPreserve=no",
    "UMask=0077",
    "NoNewPrivileges=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** launchd.plist(5): a LaunchDaemon, run as root at load and kept alive. */
export function launchdPlist(layout: HelperLayout, prefix: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  <string>${LAUNCHD_LABEL}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...daemonArgv(layout, prefix).map((a) => `    <string>${xml(a)}</string>`),
    "  </array>",
    "  <key>RunAtLoad</key>",
    "  <true/>",
    "  <key>KeepAlive</key>",
    "  <true/>",
    "  <key>StandardErrorPath</key>",
    "  <string>/var/log/minikube-tunnel-helper.log</string>",
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

/**
 * What the Windows service runs. The Service Control Manager starts only a
 * program that speaks its protocol, which node.exe does not (a real `sc start`
 * fails it with 1053 after 30 s), so binPath is the service host: it reports to
 * the SCM, appends the helper's output to its log in root's runtime folder (a
 * service has no console), and runs the installed Node on the helper's daemon
 * directly (not through `mktunnel helper run`, whose POSIX signals Windows
 * cannot deliver). It asks the daemon to stop by closing its stdin, which
 * `--stop-on-stdin-close` makes the daemon honour.
 */
export function windowsServiceCommand(layout: HelperLayout, env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    win32.join(layout.libexec, SERVICE_HOST_EXE),
    ...["--log", win32.join(runtimeDirFor("win32", env), "helper.log"), "--"],
    layout.runtime,
    layout.helper,
    ...["--daemon", "--config", layout.config, "--stop-on-stdin-close"],
  ];
}

/**
 * Windows: the arguments of `sc.exe create` (sc create's documented syntax:
 * each option is `name=` followed by its value as the next argument). binPath
 * is one command line, which the host splits by Microsoft's rules: a path
 * ending in a backslash must not escape its closing quote.
 */
export function windowsServiceArgs(layout: HelperLayout, env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    "create",
    DAEMON_NAME,
    "binPath=",
    windowsCommandLine(windowsServiceCommand(layout, env)),
    "start=",
    "auto",
    "obj=",
    "LocalSystem",
    "DisplayName=",
    "Minikube Tunnel network helper",
  ];
}

/**
 * Windows' counterpart of systemd's Restart=on-failure: `sc failure` restarts
 * the service 5 s after a failure, twice, then after a minute, and forgets
 * failures after a day; `sc failureflag 1` makes a stop with an error code a
 * failure. The host reports STOPPED with the helper's exit code when the
 * helper exits by itself; without the flag the SCM would only count a host
 * that crashed.
 */
export function windowsRecoveryArgs(): string[][] {
  return [
    ["failure", DAEMON_NAME, "reset=", "86400", "actions=", "restart/5000/restart/5000/restart/60000"],
    ["failureflag", DAEMON_NAME, "1"],
  ];
}
