import type { EventEmitter } from "node:events";
import type { LinkStatus } from "../cluster-access.js";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import { ChannelCarrier } from "./channel-carrier.js";
import type { ForwardCarrier } from "./forward-carrier.js";
import { OpenSshLink } from "./openssh-link.js";
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
 * `openssh`: a master `ssh` carries the bytes (macOS, Linux); `ssh2`: in-process (Windows, whose OpenSSH has no
 * multiplexing).
 */
export type SshClientKind = "openssh" | "ssh2";

/**
 * The measured choice (README, "Forward mode"): OpenSSH's master where it can
 * multiplex, ssh2 elsewhere. `MKTUNNEL_SSH_CLIENT` forces one (tests run both).
 */
export async function chooseSshClient(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  runner: CommandRunner = execFileRunner,
): Promise<SshClientKind> {
  const forced = env.MKTUNNEL_SSH_CLIENT;
  if (forced === "openssh" || forced === "ssh2") return forced;
  if (forced) throw new Error(`MKTUNNEL_SSH_CLIENT must be openssh or ssh2, not ${JSON.stringify(forced)}`);
  if (platform === "win32") return "ssh2";
  const version = await runner.run("ssh", ["-V"], { timeoutMs: 5000 }).catch(() => null);
  return version && version.exitCode === 0 && /OpenSSH/.test(version.stderr + version.stdout) ? "openssh" : "ssh2";
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
  const link = new Ssh2Link(resolve, options);
  return { link, carrier: new ChannelCarrier(link, (line) => link.emit("log", line)) };
}
