import { createHash } from "node:crypto";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Client } from "ssh2";
import { hostKeyAlgorithms, isPinned } from "./host-keys.js";
import { type LinkTarget, LinkRefused, ReconnectingLink, hostKeyMismatchMessage } from "./reconnecting-link.js";

export class HostKeyMismatch extends LinkRefused {
  constructor(endpoint: string, presented: Buffer) {
    super(
      hostKeyMismatchMessage(
        endpoint,
        `SHA256:${createHash("sha256").update(presented).digest("base64").replace(/=+$/, "")}`,
      ),
    );
    this.name = "HostKeyMismatch";
  }
}

/**
 * Forward mode's link through ssh2, in this process (docs/architecture.md,
 * "Forward mode"): machines without OpenSSH's `ssh` (on Windows it is an
 * optional feature). Every forwarded TCP connection is a channel on it. It
 * keeps itself up: keepalives notice a dead peer, and a dropped connection is
 * made again with backoff, resolving the target anew each time. Emits `state`
 * (LinkStatus) and `log` (line).
 */
export class Ssh2Link extends ReconnectingLink {
  private client: Client | null = null;

  /** Drops the connection now and makes it again (resume from sleep, network change). */
  reconnect(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.cancelRetry();
    this.client?.end();
    return this.connect();
  }

  /** A channel to host:port as seen from the node; rejects when the link is not up. */
  openChannel(
    host: string,
    port: number,
    from: { address: string; port: number } = { address: "127.0.0.1", port: 0 },
  ): Promise<Duplex> {
    return new Promise((resolve, reject) =>
      this.channel(host, port, from, (error, channel) => (error ? reject(error) : resolve(channel!))),
    );
  }

  async probe(host: string, port: number): Promise<void> {
    (await this.openChannel(host, port)).destroy();
  }

  /** The same without a promise in between: the forwarder's hot path, where every microtask is latency. */
  channel(
    host: string,
    port: number,
    from: { address: string; port: number },
    done: (error: Error | undefined, channel?: Duplex) => void,
  ): void {
    const client = this.client;
    if (!client || this.state !== "up") return done(new Error(`the SSH link is ${this.state}`));
    client.forwardOut(from.address, from.port, host, port, (error, channel) => done(error, channel));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
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

  /** Connects the client; resolves "up", or the reason it is not. */
  protected dial(target: LinkTarget): Promise<"up" | Error> {
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
        this.markUp("");
        settle("up");
      });
      client.on("error", (error) => settle(mismatch ?? error));
      client.once("close", () => {
        settle(mismatch ?? new Error("the connection closed during login"));
        if (this.client !== client) return;
        this.client = null;
        this.dropped("the connection dropped");
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
}
