import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import { listenExclusive } from "./channel-carrier.js";
import type { CarriedListener, ForwardCarrier } from "./forward-carrier.js";
import { HOST_ALIAS, OpenSshProcessLink, lastLine } from "./openssh-process-link.js";
import type { LinkTarget, SshLinkOptions } from "./reconnecting-link.js";

const COMMAND_TIMEOUT_MS = 10_000;

interface Forward {
  readonly address: string;
  readonly port: number;
  readonly target: { readonly host: string; readonly port: number };
}

interface Batch {
  readonly forwards: Forward[];
  /** Resolves null once the batch is done, or with its forwards when it failed (each is then asked alone). */
  readonly sent: Promise<Forward[] | null>;
}

const bracket = (host: string) => (host.includes(":") ? `[${host}]` : host);
/** `-L` as ssh(1) reads it: an IPv6 address in brackets, on either side (an IPv6 ClusterIP too). */
export const forwardSpec = (f: Forward) => `${bracket(f.address)}:${f.port}:${bracket(f.target.host)}:${f.target.port}`;

/**
 * Forward mode's link through OpenSSH's master (docs/architecture.md, "Forward
 * mode"), where `ssh` can multiplex (macOS, Linux): the master listens on the
 * Services' loopback addresses itself (`ssh -O forward`), so every byte is
 * carried by OpenSSH's own C code. The login, the key copy, the pinned keys
 * and the session that ends with this process are OpenSshProcessLink's.
 */
export class OpenSshLink extends OpenSshProcessLink implements ForwardCarrier {
  readonly fixedTarget = true;
  protected readonly upNote = " (OpenSSH)";
  /** The master is up and takes forward requests: a new listener asks it directly, the rest were asked together. */
  private accepting = false;
  private readonly forwards = new Map<string, Forward>();
  /** Requests of this turn of the event loop, sent together in one `ssh -O` per operation (`requestSoon`). */
  private readonly batches = new Map<"forward" | "cancel", Batch>();

  constructor(
    resolve: () => Promise<LinkTarget>,
    options: SshLinkOptions = {},
    ssh = "ssh",
    private readonly runner: CommandRunner = execFileRunner,
  ) {
    super(resolve, options, ssh);
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
    if (this.accepting) await this.requestSoon("forward", forward);
    this.forwards.set(key, forward);
    return {
      port: chosen,
      close: async () => {
        if (this.forwards.get(key) !== forward) return;
        this.forwards.delete(key);
        if (this.accepting) await this.requestSoon("cancel", forward);
      },
    };
  }

  /**
   * One `ssh -O forward` (or cancel) for every request of this turn of the event loop: the mux client sends each `-L`
   * as its own request on one control connection (ssh(1), -O), so 400 listeners cost one process, not 400. A batch that
   * fails is sent again one forward at a time, so each listener gets its own answer (a port taken meanwhile fails
   * alone).
   */
  private requestSoon(op: "forward" | "cancel", forward: Forward): Promise<void> {
    let batch = this.batches.get(op);
    if (!batch) {
      const forwards: Forward[] = [];
      const sent = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.batches.delete(op);
        return this.mux(op, forwards).then(
          () => null,
          () => forwards,
        );
      });
      batch = { forwards, sent };
      this.batches.set(op, batch);
    }
    batch.forwards.push(forward);
    return batch.sent.then((failed) => (failed ? this.mux(op, [forward]) : undefined));
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

  protected async sessionArgs(dir: string): Promise<string[]> {
    // A master killed outright leaves its control socket, and a new master would not take the path.
    await rm(join(dir, "control"), { force: true });
    return ["-M", "-S", join(dir, "control"), "-o", "ControlPersist=no", "-o", "ExitOnForwardFailure=no"];
  }

  protected loggedIn(): Promise<void> {
    this.accepting = true;
    return this.addAll().catch((error: Error) =>
      Promise.reject(new Error(`could not listen through the SSH link: ${error.message}`)),
    );
  }

  protected sessionGone(): void {
    this.accepting = false;
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
}
