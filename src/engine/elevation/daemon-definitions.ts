import { type HelperLayout, LAUNCHD_LABEL, DAEMON_NAME } from "./helper-layout.js";

/** The command the service manager runs: the installed runtime and CLI, `helper run`. */
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
 * Windows: the arguments of `sc.exe create` (sc create's documented syntax:
 * each option is `name=` followed by its value as the next argument).
 */
export function windowsServiceArgs(layout: HelperLayout, prefix: string): string[] {
  const binPath = daemonArgv(layout, prefix)
    .map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a))
    .join(" ");
  return [
    "create",
    DAEMON_NAME,
    "binPath=",
    binPath,
    "start=",
    "auto",
    "obj=",
    "LocalSystem",
    "DisplayName=",
    "Minikube Tunnel network helper",
  ];
}
