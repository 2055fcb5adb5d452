import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type LinkTarget,
  LinkRefused,
  ReconnectingLink,
  type SshLinkOptions,
  hostKeyMismatchMessage,
} from "./reconnecting-link.js";

/** The name the pinned keys are filed under, whatever port Docker publishes the node on this time. */
export const HOST_ALIAS = "minikube-node";
const UP = "minikube-tunnel-link-up";

interface SessionFiles {
  readonly dir: string;
  readonly key: string;
  readonly knownHosts: string;
}

/**
 * What forward mode's two OpenSSH links share (docs/architecture.md, "Forward
 * mode"): one `ssh` per profile, logged in with a copy of the login key in a
 * 0700 temporary directory (deleted once logged in, so it does not outlive a
 * crash) against the pinned keys alone (`StrictHostKeyChecking=yes`, a
 * fixed `HostKeyAlias`, since the port changes and the key does not). The
 * session runs a remote `cat` on our stdin: when this process dies, however it
 * dies, the pipe closes, the session ends and `ssh` exits with whatever it
 * listens on. Subclasses say how the bytes travel: the master's own
 * listeners, or `-D`'s SOCKS port.
 */
export abstract class OpenSshProcessLink extends ReconnectingLink {
  protected session: ChildProcess | null = null;
  protected dir: string | null = null;
  /** A dial's file work in flight, which close() lets finish before it removes the directory. */
  private preparing: Promise<unknown> = Promise.resolve();

  constructor(
    resolve: () => Promise<LinkTarget>,
    options: SshLinkOptions = {},
    protected readonly ssh = "ssh",
  ) {
    super(resolve, options);
  }

  /** Said in the "is up" log line, so a log tells which client carries the bytes. */
  protected abstract readonly upNote: string;
  /** This kind's own options, after `-F /dev/null`: the master's control socket, or `-D`'s port. */
  protected abstract sessionArgs(dir: string): Promise<string[]>;
  /**
   * Logged in, the remote command runs: what must be done before the link counts as up. Called synchronously when the
   * marker arrives, so state it sets is seen by every later caller.
   */
  protected abstract loggedIn(): Promise<void>;
  /** The current `ssh` exited or is being stopped: nothing may be sent through it any more. */
  protected abstract sessionGone(): void;

  async reconnect(): Promise<void> {
    if (this.closed) return;
    this.cancelRetry();
    await this.stopSession();
    return this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    // A dial still writing the key copy into the directory would race its removal and could leave the copy behind.
    await this.preparing;
    await this.stopSession();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.setState("down");
  }

  /** Starts `ssh`; resolves "up" once the node runs its command and the subclass is ready, or why it did not. */
  protected async dial(target: LinkTarget): Promise<"up" | Error> {
    const ready = this.prepare(target).then(
      async (files) => files && { files, own: await this.sessionArgs(files.dir) },
    );
    this.preparing = ready.catch(() => undefined);
    let prepared: Awaited<typeof ready>;
    try {
      prepared = await ready;
    } catch (error) {
      return new Error(`cannot prepare the SSH link's files: ${(error as Error).message}`);
    }
    // The last look at `closed` before the spawn, with no await in between: a close() from here on finds the process
    // and ends it.
    if (!prepared || this.closed) return new Error("the link was closed");
    const { files, own } = prepared;
    const args = ["-F", "/dev/null", ...own, ...this.loginArgs(target, files), `echo ${UP}; exec cat >/dev/null`];
    const child = spawn(this.ssh, args, { stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
    this.session = child;
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8192)));
    child.stdin!.on("error", () => undefined);
    return new Promise((settle) => {
      let up = false;
      let announced = false;
      let failure: string | null = null;
      child.stdout!.on("data", (d: Buffer) => {
        if (up || !d.toString().includes(UP)) return;
        up = true;
        const ready = this.loggedIn();
        // Logged in: the copy of the key is not needed until the next login, and must not outlive a crash.
        void rm(files.key, { force: true });
        void ready.then(
          () => {
            if (this.session !== child || child.exitCode !== null || child.signalCode !== null) return;
            announced = true;
            this.markUp(this.upNote);
            settle("up");
          },
          (error: Error) => {
            failure = error.message;
            child.kill("SIGTERM");
          },
        );
      });
      child.once("error", (error) => settle(new Error(`cannot run ${this.ssh}: ${error.message}`)));
      child.once("exit", () => {
        const why = failure ? new Error(failure) : describeExit(stderr, this.endpoint!);
        if (this.session === child) this.sessionGone();
        if (!announced) return settle(why);
        if (this.session !== child) return;
        this.session = null;
        this.dropped(why.message);
      });
    });
  }

  /** The login both kinds make: batch mode, this key only, the pinned keys only, keepalives, a session without a tty. */
  private loginArgs(target: LinkTarget, files: SessionFiles): string[] {
    const interval = Math.max(1, Math.round((this.options.keepaliveIntervalMs ?? 5000) / 1000));
    const option = (name: string, value: string | number) => ["-o", `${name}=${value}`];
    return [
      ...option("BatchMode", "yes"),
      ...option("IdentitiesOnly", "yes"),
      ...["-i", files.key],
      ...option("UserKnownHostsFile", files.knownHosts),
      ...option("GlobalKnownHostsFile", "/dev/null"),
      ...option("StrictHostKeyChecking", "yes"),
      ...option("HostKeyAlias", HOST_ALIAS),
      ...option("CheckHostIP", "no"),
      ...option("ServerAliveInterval", interval),
      ...option("ServerAliveCountMax", this.options.keepaliveCountMax ?? 3),
      ...option("ConnectTimeout", Math.round((this.options.readyTimeoutMs ?? 15_000) / 1000)),
      ...option("LogLevel", "ERROR"),
      ...["-T", "-p", String(target.port), `${target.username}@${target.host}`],
    ];
  }

  /**
   * The temporary directory, the login key's copy and the pinned keys for the
   * next login; null when a close() came while they were written, so no key
   * copy is written after it.
   */
  private async prepare(target: LinkTarget): Promise<SessionFiles | null> {
    this.dir ??= await mkdtemp(join(tmpdir(), "mkt-ssh-"));
    const dir = this.dir;
    const key = join(dir, "id");
    const knownHosts = join(dir, "known_hosts");
    if (this.closed) return null;
    await writeFile(key, target.privateKey, { mode: 0o600 });
    await writeFile(
      knownHosts,
      target.hostKeys.map((k) => `${HOST_ALIAS} ${k.algorithm} ${k.blob.toString("base64")}\n`).join(""),
      { mode: 0o600 },
    );
    return { dir, key, knownHosts };
  }

  protected async stopSession(): Promise<void> {
    const child = this.session;
    this.session = null;
    this.sessionGone();
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.stdin?.end();
      child.kill("SIGTERM");
      setTimeout(() => (child.kill("SIGKILL"), resolve()), 1000).unref();
    });
  }
}

export function lastLine(text: string): string {
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
