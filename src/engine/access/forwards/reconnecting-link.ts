import { EventEmitter } from "node:events";
import type { LinkState, LinkStatus } from "../cluster-access.js";
import { type HostKey, samePins } from "./host-keys.js";

/** Where and how to log in; resolved again before every connect, because the node gets a new port when it restarts. */
export interface LinkTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: Buffer;
  readonly hostKeys: readonly HostKey[];
}

export interface SshLinkOptions {
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly readyTimeoutMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** Why the link cannot be made right now: the node is not running (wait), or something is wrong (say so). */
export class LinkUnavailable extends Error {
  constructor(
    message: string,
    readonly nodeDown: boolean,
  ) {
    super(message);
    this.name = "LinkUnavailable";
  }
}

/**
 * A reason not to try again by itself (a host key that is not the node's): the
 * link stays `refused` until the target changes or `reconnect()` is called.
 */
export class LinkRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LinkRefused";
  }
}

export function hostKeyMismatchMessage(endpoint: string, presented: string): string {
  return `host key mismatch: ${endpoint} presented ${presented}, which is not the node's key (its /etc/ssh key files, read through the container engine); refusing to forward through it`;
}

/**
 * What forward mode's SSH clients do the same way (docs/architecture.md,
 * "Forward mode"): resolve the target anew before every connect, report the
 * state once per change, and try again with backoff (250 ms up to 5 s) after
 * a failure or a drop. A refusal is not tried again with the same target:
 * only a new one (another port, other pinned keys) or `reconnect()` dials.
 * Subclasses only dial. Emits `state` (LinkStatus) and `log` (line).
 */
export abstract class ReconnectingLink extends EventEmitter {
  protected state: LinkState = "connecting";
  protected endpoint: string | null = null;
  protected closed = false;
  private error: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private connecting: Promise<void> | null = null;
  private nodeDown = false;
  private lastState = "";

  constructor(
    private readonly resolve: () => Promise<LinkTarget>,
    protected readonly options: SshLinkOptions = {},
  ) {
    super();
  }

  status(): LinkStatus {
    return { state: this.state, endpoint: this.endpoint, ...(this.error ? { error: this.error } : {}) };
  }

  /** True while the node is known not to be running (the target said so). */
  get waitingForNode(): boolean {
    return this.nodeDown;
  }

  /** Connects once and resolves when that attempt ends, up or not; later attempts run on their own. */
  start(): Promise<void> {
    this.closed = false;
    return this.connect();
  }

  /** Logs in to the target; resolves "up" once forwards can flow, or the reason they cannot. */
  protected abstract dial(target: LinkTarget): Promise<"up" | Error>;

  protected connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.attempt().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /** No retry pending: before a reconnect now, or a close. */
  protected cancelRetry(): void {
    clearTimeout(this.timer);
    // A refused link's look at the target may be awaiting it right now: this tells it it was cancelled.
    this.timer = undefined;
  }

  protected markUp(how: string): void {
    this.failures = 0;
    this.setState("up");
    this.log(`SSH link to the node at ${this.endpoint} is up${how}`);
  }

  /** The link that was up went away: straight back to connecting, then backoff. */
  protected dropped(why: string): void {
    if (this.closed) return;
    this.log(`SSH link to ${this.endpoint} dropped; connecting again`);
    this.failed(why, "reconnecting", true);
  }

  protected setState(state: LinkState): void {
    if (state === "up") this.error = undefined;
    const key = `${state}\u0000${this.error}\u0000${this.nodeDown}\u0000${this.endpoint}`;
    if (key === this.lastState && state !== "up") return;
    this.lastState = key;
    this.state = state;
    this.emit("state", this.status());
  }

  protected log(line: string): void {
    this.emit("log", line);
  }

  private async attempt(): Promise<void> {
    this.setState(this.failures === 0 && this.state === "connecting" ? "connecting" : "reconnecting");
    let target: LinkTarget;
    try {
      target = await this.resolve();
    } catch (error) {
      this.nodeDown = error instanceof LinkUnavailable && error.nodeDown;
      return this.failed((error as Error).message, "reconnecting");
    }
    this.nodeDown = false;
    if (this.closed) return;
    this.endpoint = `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
    const outcome = await this.dial(target);
    if (outcome === "up") return;
    if (outcome instanceof LinkRefused) this.failed(outcome.message, "refused", false, target);
    else this.failed(outcome.message, "reconnecting");
  }

  private failed(message: string, state: LinkState, immediate = false, refusedTarget?: LinkTarget): void {
    if (this.closed) return;
    if (message !== this.error || state !== this.state)
      this.log(state === "refused" ? message : `SSH link: ${message}`);
    this.error = message;
    this.failures++;
    this.setState(state);
    if (refusedTarget) return this.watchTarget(refusedTarget);
    const min = this.options.minBackoffMs ?? 250;
    const delay =
      immediate && this.failures === 1
        ? 0
        : Math.min(this.options.maxBackoffMs ?? 5000, min * 2 ** Math.min(this.failures - 1, 10));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  /**
   * Dialing the target that was refused again would knock on the same
   * impostor every few seconds and flip the state between reconnecting and
   * refused. The target is still read on the backoff's ceiling, because a node
   * that restarted (a new port) or was made anew (new keys) is worth a dial.
   */
  private watchTarget(refused: LinkTarget): void {
    clearTimeout(this.timer);
    const watch = setTimeout(async () => {
      // A node that cannot be read now changes nothing about the refusal: it stays refused, and is read again.
      const now = await this.resolve().catch(() => null);
      if (this.timer !== watch || this.closed) return;
      if (!now || sameTarget(now, refused)) return this.watchTarget(refused);
      this.log("the node's SSH port or host keys changed since the refusal: connecting again");
      void this.connect();
    }, this.options.maxBackoffMs ?? 5000);
    this.timer = watch;
  }
}

/**
 * The same node as far as a refusal goes: where it answers and which keys it must present (the login key plays no
 * part).
 */
function sameTarget(a: LinkTarget, b: LinkTarget): boolean {
  return a.host === b.host && a.port === b.port && samePins(a.hostKeys, b.hostKeys);
}
