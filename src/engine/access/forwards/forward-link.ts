import type { EventEmitter } from "node:events";
import type { LinkStatus } from "../cluster-access.js";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import { ChannelCarrier } from "./channel-carrier.js";
import type { ForwardCarrier } from "./forward-carrier.js";
import { OpenSshLink } from "./openssh-link.js";
import { OpenSshSocksLink } from "./openssh-socks-link.js";
import type { LinkTarget, SshLinkOptions } from "./reconnecting-link.js";
import { Ssh2Link } from "./ssh2-link.js";

/**
 * What forward mode asks of its link to the node, whichever SSH client carries it. Emits `state` (LinkStatus) and
 * `log`.
 */
export interface ForwardLink extends EventEmitter {
  status(): LinkStatus;
  readonly waitingForNode: boolean;
  start(): Promise<void>;
  reconnect(): Promise<void>;
  close(): Promise<void>;
  /** Opens and closes one connection to host:port from the node's side; rejects with the reason it cannot. */
  probe(host: string, port: number): Promise<void>;
}

/**
 * `openssh`: a master `ssh` listens itself and carries the bytes (macOS, Linux); `openssh-socks`: our listeners hand
 * each connection to `ssh -D`'s SOCKS port (Windows, whose OpenSSH cannot multiplex); `ssh2`: in this process (where
 * there is no OpenSSH).
 */
export type SshClientKind = "openssh" | "openssh-socks" | "ssh2";
const KINDS: readonly SshClientKind[] = ["openssh", "openssh-socks", "ssh2"];

/**
 * The measured choice (README, "Forward mode"): where `ssh` is OpenSSH, its
 * master where it can multiplex and `ssh -D` on Windows, whose `ssh.exe`
 * cannot (both meet the goals against `ssh -N -L`, ssh2 does not); ssh2 where
 * there is no OpenSSH. `MKTUNNEL_SSH_CLIENT` forces one (tests run each).
 */
export async function chooseSshClient(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  runner: CommandRunner = execFileRunner,
): Promise<SshClientKind> {
  const forced = env.MKTUNNEL_SSH_CLIENT;
  if (KINDS.includes(forced as SshClientKind)) return forced as SshClientKind;
  if (forced)
    throw new Error(
      `MKTUNNEL_SSH_CLIENT must be ${KINDS.slice(0, -1).join(", ")} or ${KINDS.at(-1)}, not ${JSON.stringify(forced)}`,
    );
  const version = await runner.run("ssh", ["-V"], { timeoutMs: 5000 }).catch(() => null);
  const said = version && version.exitCode === 0 ? version.stderr + version.stdout : "";
  if (platform !== "win32") return /OpenSSH/.test(said) ? "openssh" : "ssh2";
  // Windows' own OpenSSH (the OpenSSH Client feature, or Win32-OpenSSH installed by hand) is what the -D link is built
  // for: it opens /dev/null as NUL, and takes a key whose ACL names only its owner, SYSTEM and Administrators, as a
  // file in the user's %TEMP% inherits. An MSYS or Cygwin ssh first on PATH (Git for Windows) judges paths and key
  // permissions its own way, so there ssh2 carries the bytes.
  return /OpenSSH_for_Windows/.test(said) ? "openssh-socks" : "ssh2";
}

export function createForwardLink(
  kind: SshClientKind,
  resolve: () => Promise<LinkTarget>,
  options: SshLinkOptions = {},
): { link: ForwardLink; carrier: ForwardCarrier } {
  if (kind === "openssh") {
    const link = new OpenSshLink(resolve, options);
    return { link, carrier: link };
  }
  const link = kind === "openssh-socks" ? new OpenSshSocksLink(resolve, options) : new Ssh2Link(resolve, options);
  return { link, carrier: new ChannelCarrier(link, (line) => link.emit("log", line)) };
}
