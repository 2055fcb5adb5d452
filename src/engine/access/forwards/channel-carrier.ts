import { type Server, type Socket, createServer } from "node:net";
import type { Duplex } from "node:stream";
import type { CarriedListener, ForwardCarrier } from "./forward-carrier.js";

export interface ChannelOpener {
  channel(
    host: string,
    port: number,
    from: { address: string; port: number },
    done: (error: Error | undefined, channel?: Duplex) => void,
  ): void;
}

// A bulk download must not stall on the client's socket: with the default 64 KiB mark every few
// SSH packets pause the channel and wait for 'drain'. 1 MiB, half the channel's window, keeps it
// flowing (measured in `npm run bench -- forward`); it is only ever filled by a slow reader.
const CLIENT_SOCKET_HIGH_WATER_MARK = 1 << 20;

export function listenExclusive(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/**
 * Our own loopback listeners, each accepted connection a channel on the ssh2
 * link or a SOCKS connection through `ssh -D` (OpenSshSocksLink). The target is
 * read at every connection, so a Service's new ClusterIP needs no new listener.
 */
export class ChannelCarrier implements ForwardCarrier {
  readonly fixedTarget = false;

  constructor(
    private readonly link: ChannelOpener,
    private readonly log: (line: string) => void,
  ) {}

  async listen(
    address: string,
    port: number,
    target: () => { readonly host: string; readonly port: number },
  ): Promise<CarriedListener> {
    const sockets = new Set<Socket>();
    const server = createServer(
      { allowHalfOpen: true, noDelay: true, highWaterMark: CLIENT_SOCKET_HIGH_WATER_MARK },
      (socket) => this.forward(socket, sockets, target()),
    );
    let listening = false;
    // Only errors of a listening server: a listen that fails is the caller's to report (ForwardListeners says
    // port-in-use), not a second line here.
    server.on("error", (error) => listening && this.log(`listener on ${address}:${port} failed: ${error.message}`));
    try {
      await listenExclusive(server, address, port);
    } catch (error) {
      server.close();
      throw error;
    }
    listening = true;
    return {
      port: (server.address() as { port: number }).port,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  private forward(
    socket: Socket,
    sockets: Set<Socket>,
    target: { readonly host: string; readonly port: number },
  ): void {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    this.link.channel(
      target.host,
      target.port,
      { address: socket.remoteAddress ?? "127.0.0.1", port: socket.remotePort ?? 0 },
      (error, channel) => {
        if (error || !channel) return void socket.destroy();
        if (socket.destroyed) return void channel.destroy();
        channel.on("error", () => socket.destroy());
        socket.on("close", () => channel.destroy());
        channel.on("close", () => socket.destroy());
        // What the client sent while the channel opened goes out now, not a tick later through the pipe.
        for (let chunk = socket.read(); chunk !== null; chunk = socket.read()) channel.write(chunk);
        socket.pipe(channel).pipe(socket);
      },
    );
  }
}
