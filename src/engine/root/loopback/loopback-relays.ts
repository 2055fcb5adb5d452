import { type Server, type Socket, connect, createServer } from "node:net";
import { listenerOwnedBy } from "./listener-owner.js";

/**
 * Listeners root holds for a client in forward mode on Linux: a Service port
 * below 1024 on its loopback address, relayed to the port where the client
 * (a normal user) listens on that same address. Only loopback to loopback,
 * so root opens nothing another machine could reach; and each connection
 * goes on only while the target port is the user's own listener.
 */
export class LoopbackRelays {
  private readonly relays = new Map<string, { server: Server; sockets: Set<Socket> }>();

  constructor(
    /** The session's user: the only owner a relay's target may have; null when root serves itself. */
    private readonly targetOwner: number | null,
    private readonly log: (line: string) => void = () => undefined,
    private readonly owned: (address: string, port: number, uid: number) => Promise<boolean> = listenerOwnedBy,
  ) {}

  async open(address: string, port: number, targetPort: number): Promise<void> {
    const key = `${address}:${port}`;
    if (this.relays.has(key)) await this.close(address, port);
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (client) => {
      sockets.add(client);
      client.on("error", () => client.destroy());
      client.on("close", () => sockets.delete(client));
      void this.targetIsTheUsers(address, targetPort).then((ok) => {
        if (!ok) {
          this.log(`${address}:${targetPort} is not a listener of uid ${this.targetOwner}: connection to ${key} closed`);
          return void client.destroy();
        }
        if (client.destroyed) return;
        const upstream = connect({ host: address, port: targetPort, allowHalfOpen: true, noDelay: true });
        sockets.add(upstream);
        for (const s of [client, upstream]) {
          s.on("error", () => (client.destroy(), upstream.destroy()));
          s.on("close", () => (sockets.delete(s), client.destroy(), upstream.destroy()));
        }
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === "EADDRINUSE" ? new Error(`${address}:${port} is in use by another program`) : error;
    });
    this.relays.set(key, { server, sockets });
  }

  private targetIsTheUsers(address: string, port: number): Promise<boolean> {
    if (this.targetOwner === null) return Promise.resolve(true);
    return this.owned(address, port, this.targetOwner).catch(() => false);
  }

  async close(address: string, port: number): Promise<boolean> {
    const key = `${address}:${port}`;
    const relay = this.relays.get(key);
    if (!relay) return false;
    this.relays.delete(key);
    for (const s of relay.sockets) s.destroy();
    await new Promise<void>((resolve) => relay.server.close(() => resolve()));
    return true;
  }

  async closeAll(): Promise<number> {
    const keys = [...this.relays.keys()];
    for (const key of keys) {
      const at = key.lastIndexOf(":");
      await this.close(key.slice(0, at), Number(key.slice(at + 1)));
    }
    return keys.length;
  }
}
