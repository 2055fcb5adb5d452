import { type Server, type Socket, connect, createServer } from "node:net";
import { PolicyError } from "../policy/policy-error.js";
import { listenerOwnedBy } from "./listener-owner-linux.js";
import { systemPortRefusal } from "../policy/service-ports.js";

/**
 * Each relay is a root listener, and its connections are root's file
 * descriptors. Forward mode relays only Service ports below 1024 (80 and
 * 443, as a rule), each Service on an address of its own: 64 serves 32
 * LoadBalancer Services with both, more than a development cluster exposes.
 */
export const MAX_RELAYS = 64;

/**
 * Connections one session's relays carry at once (each is two of root's
 * descriptors): a browser opens six per host, so this is plenty, and any
 * local user's connect flood ends here instead of at root's descriptor
 * limit, where taking back routes (which spawns `ip`) would fail.
 */
export const MAX_RELAYED_CONNECTIONS = 256;

/**
 * Listeners root holds for a client in forward mode on Linux: a Service port
 * below 1024 on its loopback address, relayed to the port where the client
 * (a normal user) listens on that same address. Only loopback to loopback,
 * so root opens nothing another machine could reach; and each connection
 * goes on only while the target port is the user's own listener.
 */
export class LoopbackRelays {
  private readonly relays = new Map<string, { server: Server; sockets: Set<Socket> }>();
  /** Relays being opened, by how many opens: they count against the limit before they listen. */
  private readonly opening = new Map<string, number>();
  private connections = 0;
  /** Owner checks under way, by target: shared by the connections that wait for them. */
  private readonly ownerChecks = new Map<string, Promise<boolean>>();

  constructor(
    /** The session's user: the only owner a relay's target may have; null when root serves itself. */
    private readonly targetOwner: number | null,
    private readonly log: (line: string) => void = () => undefined,
    private readonly owned: (address: string, port: number, uid: number) => Promise<boolean> = listenerOwnedBy,
  ) {}

  async open(address: string, port: number, targetPort: number): Promise<void> {
    const key = `${address}:${port}`;
    const system = systemPortRefusal(port);
    if (system) throw new PolicyError(`refusing to relay ${key}: ${system}`);
    // Checked and claimed before the first await, so opens at once cannot all pass.
    const held = new Set([...this.relays.keys(), ...this.opening.keys()]);
    if (!held.has(key) && held.size >= MAX_RELAYS)
      throw new PolicyError(
        `refusing to relay ${key}: this client already holds ${MAX_RELAYS} relayed ports, the most one session may`,
      );
    this.opening.set(key, (this.opening.get(key) ?? 0) + 1);
    try {
      await this.listen(address, port, targetPort);
    } finally {
      const left = this.opening.get(key)! - 1;
      if (left > 0) this.opening.set(key, left);
      else this.opening.delete(key);
    }
  }

  private async listen(address: string, port: number, targetPort: number): Promise<void> {
    const key = `${address}:${port}`;
    if (this.relays.has(key)) await this.close(address, port);
    const sockets = new Set<Socket>();
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (client) => {
      if (this.connections >= MAX_RELAYED_CONNECTIONS) {
        this.log(`${key}: ${MAX_RELAYED_CONNECTIONS} relayed connections already open; one more refused`);
        return void client.destroy();
      }
      this.connections++;
      sockets.add(client);
      client.on("error", () => client.destroy());
      client.on("close", () => {
        this.connections--;
        sockets.delete(client);
      });
      void this.targetIsTheUsers(address, targetPort).then((ok) => {
        if (!ok) {
          this.log(
            `${address}:${targetPort} is not a listener of uid ${this.targetOwner}: connection to ${key} closed`,
          );
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
    // /proc/net/tcp is read whole each time, so connections that arrive together (a browser opens six) share one
    // read; an answer is never kept past it: a listener that went a moment ago, or one that came, counts at once.
    const key = `${address}:${port}`;
    const pending = this.ownerChecks.get(key);
    if (pending) return pending;
    const answer = this.owned(address, port, this.targetOwner)
      .catch(() => false)
      .finally(() => this.ownerChecks.delete(key));
    this.ownerChecks.set(key, answer);
    return answer;
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
