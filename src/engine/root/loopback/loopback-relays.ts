import { type Server, type Socket, connect, createServer } from "node:net";

/**
 * Listeners the helper holds for a client in forward mode: a Service port
 * below 1024 on its loopback address, relayed to the port where the client
 * (a normal user) listens on that same address. Only loopback to loopback,
 * so the helper opens nothing another machine could reach.
 */
export class LoopbackRelays {
  private readonly relays = new Map<string, { server: Server; sockets: Set<Socket> }>();

  async open(address: string, port: number, targetPort: number): Promise<void> {
    const key = `${address}:${port}`;
    if (this.relays.has(key)) await this.close(address, port);
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const upstream = connect({ host: address, port: targetPort, allowHalfOpen: true, noDelay: true });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("error", () => (client.destroy(), upstream.destroy()));
        s.on("close", () => (sockets.delete(s), client.destroy(), upstream.destroy()));
      }
      client.pipe(upstream).pipe(client);
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
