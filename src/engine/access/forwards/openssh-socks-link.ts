import { createServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ChannelOpener } from "./channel-carrier.js";
import { OpenSshProcessLink } from "./openssh-process-link.js";
import { socks5Connect } from "./socks5-client.js";

const LOOPBACK = "127.0.0.1";
/**
 * A target that takes the probe's connection and says nothing (a TLS server waits for its client's hello) counts as
 * reached after this long.
 */
const PROBE_QUIET_MS = 2000;
/**
 * What the probe sends: an HTTP line, so an HTTP server answers it, and so does the kubernetes Service's Go TLS server
 * ("client sent an HTTP request to an HTTPS server"), at once.
 */
const PROBE_REQUEST = "HEAD / HTTP/1.0\r\n\r\n";

/**
 * Forward mode's link through OpenSSH where `ssh` cannot multiplex (Windows'
 * `ssh.exe`): one `ssh -D` per profile, whose SOCKS5 port on 127.0.0.1 takes
 * each connection our own listeners accept (ChannelCarrier) and opens it as a
 * `direct-tcpip` channel, so the crypto and the SSH framing stay in OpenSSH's
 * C code. The login, the key copy, the pinned keys and the session that ends
 * with this process are OpenSshProcessLink's, as for the master. The port is a
 * free one picked at each login; `ExitOnForwardFailure` makes a port taken in
 * between a failed login, tried again with another.
 *
 * OpenSSH grants every CONNECT at once and opens the channel afterwards, so a
 * target the node cannot reach shows as the connection closing, never as a
 * SOCKS error.
 */
export class OpenSshSocksLink extends OpenSshProcessLink implements ChannelOpener {
  protected readonly upNote = " (OpenSSH, SOCKS)";
  /** The port of the `ssh` that is up, which connections go to; null while none is. */
  private socksPort: number | null = null;
  /** The port the `ssh` being started listens on once it is up. */
  private startingPort: number | null = null;

  /** The SOCKS port connections go to; null while the link is not up. */
  get port(): number | null {
    return this.state === "up" ? this.socksPort : null;
  }

  channel(
    host: string,
    port: number,
    _from: { address: string; port: number },
    done: (error: Error | undefined, channel?: Duplex) => void,
  ): void {
    const socksPort = this.port;
    if (socksPort === null) return done(new Error(`the SSH link is ${this.state}`));
    socks5Connect({ host: LOOPBACK, port: socksPort }, { host, port }, done);
  }

  /**
   * A connection to host:port through the link: reached when the target answers or stays connected, not when `ssh`
   * closes it before a byte came back (the node could not connect).
   */
  async probe(host: string, port: number): Promise<void> {
    const socket = await new Promise<Socket>((resolve, reject) =>
      this.channel(host, port, { address: LOOPBACK, port: 0 }, (error, channel) =>
        error ? reject(error) : resolve(channel as Socket),
      ),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        const quiet = setTimeout(resolve, PROBE_QUIET_MS);
        const settle = (error?: Error) => (clearTimeout(quiet), error ? reject(error) : resolve());
        socket.once("data", () => settle());
        socket.once("end", () => settle(new Error(`the node could not connect to ${host}:${port}`)));
        socket.once("error", (error) => settle(error));
        // socks5Connect hands the socket over paused, and a listener alone does not start an explicitly paused stream.
        socket.resume();
        socket.write(PROBE_REQUEST);
      });
    } finally {
      socket.destroy();
    }
  }

  protected async sessionArgs(): Promise<string[]> {
    this.startingPort = await freeLoopbackPort();
    return ["-D", `${LOOPBACK}:${this.startingPort}`, "-o", "ExitOnForwardFailure=yes"];
  }

  protected loggedIn(): Promise<void> {
    // ssh opens its forwardings before the session, so the remote command's answer means the port listens.
    this.socksPort = this.startingPort;
    return Promise.resolve();
  }

  protected sessionGone(): void {
    this.socksPort = null;
  }
}

/** A port nothing listens on at 127.0.0.1 right now, for `ssh -D` to take. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
