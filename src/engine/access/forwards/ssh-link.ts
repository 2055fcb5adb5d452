import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Client } from "ssh2";
import type { LinkState, LinkStatus } from "../cluster-access.js";
import { type HostKey, hostKeyAlgorithms, isPinned } from "./host-keys.js";

/** Where and how to log in; resolved again before every connect, because the node gets a new port when it restarts. */
export interface LinkTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: Buffer;
  readonly hostKeys: readonly HostKey[];
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

export class HostKeyMismatch extends Error {
  constructor(endpoint: string, presented: Buffer) {
    const fingerprint = `SHA256:${createHash("sha256").update(presented).digest("base64").replace(/=+$/, "")}`;
    super(`host key mismatch: ${endpoint} presented ${fingerprint}, which is not the node's key (minikube ssh-host); refusing to forward through it`);
    this.name = "HostKeyMismatch";
  }
}

export interface SshLinkOptions {
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  readonly readyTimeoutMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/**
 * Forward mode's one SSH connection to a profile's node (docs/architecture.md,
 * "Forward mode"). Every forwarded TCP connection is a channel on it. It
 * keeps itself up: keepalives notice a dead peer, and a dropped connection is
 * made again with backoff, resolving the target anew each time. Emits `state`
 * (LinkStatus) and `log` (line).
 */
export class SshLink extends EventEmitter {
  private client: Client | null = null;
  private state: LinkState = "connecting";
  private endpoint: string | null = null;
  private error: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private connecting: Promise<void> | null = null;
  private nodeDown = false;
  private lastState = "";

  constructor(
    private readonly resolve: () => Promise<LinkTarget>,
    private readonly options: SshLinkOptions = {},
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

  /** Drops the connection now and makes it again (resume from sleep, network change). */
  reconnect(): Promise<void> {
    if (this.closed) return Promise.resolve();
    clearTimeout(this.timer);
    this.client?.end();
    return this.connect();
  }

  /** A channel to host:port as seen from the node; rejects when the link is not up. */
  openChannel(host: string, port: number, from: { address: string; port: number } = { address: "127.0.0.1", port: 0 }): Promise<Duplex> {
    return new Promise((resolve, reject) => this.channel(host, port, from, (error, channel) => (error ? reject(error) : resolve(channel!))));
  }

  async probe(host: string, port: number): Promise<void> {
    (await this.openChannel(host, port)).destroy();
  }

  /** The same without a promise in between: the forwarder's hot path, where every microtask is latency. */
  channel(host: string, port: number, from: { address: string; port: number }, done: (error: Error | undefined, channel?: Duplex) => void): void {
    const client = this.client;
    if (!client || this.state !== "up") return done(new Error(`the SSH link is ${this.state}`));
    client.forwardOut(from.address, from.port, host, port, (error, channel) => done(error, channel));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (client) {
      await new Promise<void>((resolve) => {
        client.once("close", () => resolve());
        client.end();
        setTimeout(() => (client.destroy(), resolve()), 1000).unref();
      });
    }
    this.setState("down");
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.attempt().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async attempt(): Promise<void> {
    this.setState(this.failures === 0 && this.state === "connecting" ? "connecting" : "reconnecting");
    let target: LinkTarget;
    try {
      target = await this.resolve();
    } catch (error) {
      this.nodeDown = error instanceof LinkUnavailable && error.nodeDown;
      return this.failed(error as Error, "reconnecting");
    }
    this.nodeDown = false;
    if (this.closed) return;
    this.endpoint = `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`;
    const outcome = await this.dial(target);
    if (outcome === "up") return;
    this.failed(outcome, outcome instanceof HostKeyMismatch ? "refused" : "reconnecting");
  }

  /** Connects the client; resolves "up", or the reason it is not. */
  private dial(target: LinkTarget): Promise<"up" | Error> {
    return new Promise((resolve) => {
      const client = new Client();
      const socket = new Socket();
      // Every forwarded byte crosses this socket: small writes (a keystroke, a request line) must not wait for Nagle.
      socket.setNoDelay(true);
      let mismatch: HostKeyMismatch | null = null;
      let settled = false;
      const settle = (outcome: "up" | Error) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      client.once("ready", () => {
        if (this.closed) {
          client.end();
          return settle(new Error("closed"));
        }
        this.client = client;
        this.failures = 0;
        this.setState("up");
        this.log(`SSH link to the node at ${this.endpoint} is up`);
        settle("up");
      });
      client.on("error", (error) => settle(mismatch ?? error));
      client.once("close", () => {
        settle(mismatch ?? new Error("the connection closed during login"));
        if (this.client !== client) return;
        this.client = null;
        if (this.closed) return;
        this.log(`SSH link to ${this.endpoint} dropped; connecting again`);
        this.failed(new Error("the connection dropped"), "reconnecting", true);
      });
      client.connect({
        sock: socket.connect(target.port, target.host),
        username: target.username,
        privateKey: target.privateKey,
        readyTimeout: this.options.readyTimeoutMs ?? 15_000,
        keepaliveInterval: this.options.keepaliveIntervalMs ?? 5000,
        keepaliveCountMax: this.options.keepaliveCountMax ?? 3,
        algorithms: { serverHostKey: hostKeyAlgorithms(target.hostKeys) as never },
        hostVerifier: (key: Buffer) => {
          if (isPinned(target.hostKeys, key)) return true;
          mismatch = new HostKeyMismatch(this.endpoint ?? `${target.host}:${target.port}`, key);
          return false;
        },
      });
    });
  }

  private failed(error: Error, state: LinkState, immediate = false): void {
    if (this.closed) return;
    const message = error.message;
    if (message !== this.error || state !== this.state) this.log(state === "refused" ? message : `SSH link: ${message}`);
    this.error = message;
    this.failures++;
    this.setState(state);
    const min = this.options.minBackoffMs ?? 250;
    const delay = immediate && this.failures === 1 ? 0 : Math.min(this.options.maxBackoffMs ?? 5000, min * 2 ** Math.min(this.failures - 1, 10));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  private setState(state: LinkState): void {
    if (state === "up") this.error = undefined;
    const key = `${state}\u0000${this.error}\u0000${this.nodeDown}\u0000${this.endpoint}`;
    if (key === this.lastState && state !== "up") return;
    this.lastState = key;
    this.state = state;
    this.emit("state", this.status());
  }

  private log(line: string): void {
    this.emit("log", line);
  }
}
