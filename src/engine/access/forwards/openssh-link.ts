import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import { listenExclusive } from "./channel-carrier.js";
import type { CarriedListener, ForwardCarrier } from "./forward-carrier.js";
import {
  type LinkTarget,
  LinkRefused,
  ReconnectingLink,
  type SshLinkOptions,
  hostKeyMismatchMessage,
} from "./reconnecting-link.js";

/** The name the pinned keys are filed under, whatever port Docker publishes the node on this time. */
const HOST_ALIAS = "minikube-node";
const UP = "minikube-tunnel-link-up";
const COMMAND_TIMEOUT_MS = 10_000;

interface Forward {
  readonly address: string;
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);
/** `-L` as ssh(1) reads it: an IPv6 address in brackets, on either side (an IPv6 ClusterIP too). */
export const forwardSpec = (f: Forward) => `${bracket(f.address)}:${f.port}:${bracket(f.target.host)}:${f.target.port}`;

/**
 * Forward mode's link through OpenSSH (docs/architecture.md, "Forward mode"):
 * one `ssh` master per profile, which listens on the Services' loopback
 * addresses itself (`ssh -O forward`), so every byte is carried by OpenSSH's
 * own C code. The master runs a remote `cat` on its stdin: when this process
 * dies, however it dies, the pipe closes, the session ends, and the master
 * exits with every listener. Keepalives, reconnect with backoff, and the
 * target resolved anew at every connect, as the ssh2 link does.
 */
export class OpenSshLink extends ReconnectingLink implements ForwardCarrier {
  readonly fixedTarget = true;
  private master: ChildProcess | null = null;
  private dir: string | null = null;
  /** The master is up and takes forward requests: a new listener asks it directly, the rest were asked together. */
  private accepting = false;
  private readonly forwards = new Map<string, Forward>();
  /** A dial's file work in flight, which close() lets finish before it removes the directory. */
  private preparing: Promise<unknown> = Promise.resolve();

  constructor(
    resolve: () => Promise<LinkTarget>,
    options: SshLinkOptions = {},
    private readonly ssh = "ssh",
    private readonly runner: CommandRunner = execFileRunner,
  ) {
    super(resolve, options);
  }

  async reconnect(): Promise<void> {
    if (this.closed) return;
    this.cancelRetry();
    await this.stopMaster();
    return this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    // A dial still writing the key copy into the directory would race its removal and could leave the copy behind.
    await this.preparing;
    await this.stopMaster();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.setState("down");
  }

  /** A connection to host:port from the node, through the master, closed at once: the probe. */
  async probe(host: string, port: number): Promise<void> {
    if (this.state !== "up" || !this.dir) throw new Error("the SSH link is not up");
    const result = await this.runner.run(this.ssh, [...this.muxArgs(), "-W", `${host}:${port}`, HOST_ALIAS], {
      timeoutMs: COMMAND_TIMEOUT_MS,
      input: "",
    });
    if (result.exitCode !== 0)
      throw new Error(lastLine(result.stderr) || `ssh -W ${host}:${port} exited ${result.exitCode}`);
  }

  async listen(
    address: string,
    port: number,
    target: () => { readonly host: string; readonly port: number },
  ): Promise<CarriedListener> {
    // Bind here first: a port in use, or one that needs root, fails as our own listener would; port 0 picks the free
    // one.
    const probe = createServer();
    await listenExclusive(probe, address, port).catch((error: Error) => (probe.close(), Promise.reject(error)));
    const chosen = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const forward: Forward = { address, port: chosen, target: target() };
    const key = `${address}:${chosen}`;
    // No await between the look at `accepting` and the set: the batch that `addAll` sends either has it or not.
    if (this.accepting) await this.mux("forward", [forward]);
    this.forwards.set(key, forward);
    return {
      port: chosen,
      close: async () => {
        if (this.forwards.get(key) !== forward) return;
        this.forwards.delete(key);
        if (this.accepting) await this.mux("cancel", [forward]);
      },
    };
  }

  private muxArgs(): string[] {
    return ["-F", "/dev/null", "-S", join(this.dir!, "control")];
  }

  private async mux(op: "forward" | "cancel", forwards: readonly Forward[]): Promise<void> {
    if (forwards.length === 0) return;
    const result = await this.runner.run(
      this.ssh,
      [...this.muxArgs(), "-O", op, ...forwards.flatMap((f) => ["-L", forwardSpec(f)]), HOST_ALIAS],
      { timeoutMs: COMMAND_TIMEOUT_MS, input: "" },
    );
    if (result.exitCode !== 0)
      throw new Error(
        `ssh -O ${op} ${forwards.map(forwardSpec).join(" ")}: ${lastLine(result.stderr) || `exit ${result.exitCode}`}`,
      );
  }

  /** Starts the master; resolves "up" once the node runs its command, or why it did not. */
  protected async dial(target: LinkTarget): Promise<"up" | Error> {
    const files = this.prepare(target);
    this.preparing = files.catch(() => undefined);
    let prepared: { dir: string; key: string; knownHosts: string } | null;
    try {
      prepared = await files;
    } catch (error) {
      return new Error(`cannot prepare the SSH master's files: ${(error as Error).message}`);
    }
    // The last look at `closed` before the spawn, with no await in between: a close() from here on finds the master and
    // ends it.
    if (!prepared || this.closed) return new Error("the link was closed");
    const { key, knownHosts } = prepared;
    const interval = Math.max(1, Math.round((this.options.keepaliveIntervalMs ?? 5000) / 1000));
    const args = [
      ...["-F", "/dev/null", "-M", "-S", join(prepared.dir, "control"), "-o", "ControlPersist=no"],
      ...["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key],
      ...[
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `HostKeyAlias=${HOST_ALIAS}`,
        "-o",
        "CheckHostIP=no",
      ],
      ...[
        "-o",
        `ServerAliveInterval=${interval}`,
        "-o",
        `ServerAliveCountMax=${this.options.keepaliveCountMax ?? 3}`,
        "-o",
        `ConnectTimeout=${Math.round((this.options.readyTimeoutMs ?? 15_000) / 1000)}`,
      ],
      ...[
        "-o",
        "ExitOnForwardFailure=no",
        "-o",
        "LogLevel=ERROR",
        "-T",
        "-p",
        String(target.port),
        `${target.username}@${target.host}`,
      ],
      `echo ${UP}; exec cat >/dev/null`,
    ];
    const master = spawn(this.ssh, args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    this.master = master;
    let stderr = "";
    master.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
    master.stdin!.on("error", () => undefined);
    return new Promise((settle) => {
      let up = false;
      let announced = false;
      let failure: string | null = null;
      master.stdout!.on("data", (d: Buffer) => {
        if (up || !d.toString().includes(UP)) return;
        up = true;
        this.accepting = true;
        // Logged in: the copy of the key is not needed until the next login, and must not outlive a crash.
        void rm(key, { force: true });
        void this.addAll().then(
          () => {
            if (this.master !== master || master.exitCode !== null || master.signalCode !== null) return;
            announced = true;
            this.markUp(" (OpenSSH)");
            settle("up");
          },
          (error: Error) => {
            failure = `could not listen through the SSH link: ${error.message}`;
            master.kill("SIGTERM");
          },
        );
      });
      master.once("error", (error) => settle(new Error(`cannot run ${this.ssh}: ${error.message}`)));
      master.once("exit", () => {
        const why = failure ? new Error(failure) : describeExit(stderr, this.endpoint!);
        if (this.master === master) this.accepting = false;
        if (!announced) return settle(why);
        if (this.master !== master) return;
        this.master = null;
        this.dropped(why.message);
      });
    });
  }

  /**
   * The temporary directory, the login key's copy and the pinned keys for the
   * next master; null when a close() came while they were written, so no key
   * copy is written after it.
   */
  private async prepare(target: LinkTarget): Promise<{ dir: string; key: string; knownHosts: string } | null> {
    this.dir ??= await mkdtemp(join(tmpdir(), "mkt-ssh-"));
    const dir = this.dir;
    const key = join(dir, "id");
    const knownHosts = join(dir, "known_hosts");
    await rm(join(dir, "control"), { force: true });
    if (this.closed) return null;
    await writeFile(key, target.privateKey, { mode: 0o600 });
    await writeFile(
      knownHosts,
      target.hostKeys.map((k) => `${HOST_ALIAS} ${k.algorithm} ${k.blob.toString("base64")}\n`).join(""),
      { mode: 0o600 },
    );
    return { dir, key, knownHosts };
  }

  /**
   * Every listener again, on a new master. One request for all of them; if it
   * fails (a port taken while the link was down), each alone, so one port
   * lost does not keep the others or the link down. The master takes a
   * forward it already has as done.
   */
  private async addAll(): Promise<void> {
    const all = [...this.forwards.values()];
    if (
      await this.mux("forward", all).then(
        () => true,
        () => false,
      )
    )
      return;
    for (const forward of all)
      await this.mux("forward", [forward]).catch((error: Error) =>
        this.log(`could not listen again on ${forward.address}:${forward.port}: ${error.message}`),
      );
  }

  private async stopMaster(): Promise<void> {
    const master = this.master;
    this.master = null;
    this.accepting = false;
    if (!master || master.exitCode !== null || master.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      master.once("exit", () => resolve());
      master.stdin?.end();
      master.kill("SIGTERM");
      setTimeout(() => (master.kill("SIGKILL"), resolve()), 1000).unref();
    });
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).at(-1)?.trim() ?? "";
}

/**
 * OpenSSH's reasons, in the words the ssh2 link uses: a host key it was not told to trust is a refusal, not a retry.
 */
function describeExit(stderr: string, endpoint: string): Error {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for/i.test(stderr)) {
    return new LinkRefused(hostKeyMismatchMessage(endpoint, /SHA256:[A-Za-z0-9+/]+/.exec(stderr)?.[0] ?? "a key"));
  }
  return new Error(lastLine(stderr) || "ssh exited");
}
