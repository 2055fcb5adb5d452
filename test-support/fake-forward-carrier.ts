import type { CarriedListener, ForwardCarrier, UdpCarrier } from "../src/engine/access/forwards/forward-carrier.js";
import { udpRefusal } from "../src/engine/access/forwards/udp-relays.js";
import type { RootLoopback } from "../src/engine/root/index.js";

export interface ListenCall {
  readonly address: string;
  readonly port: number;
  readonly target: () => { readonly host: string; readonly port: number };
}

/** An error shaped as net.Server.listen rejects: ForwardListeners decides by `.code` alone. */
export function listenError(code: "EADDRINUSE" | "EACCES", address: string, port: number): NodeJS.ErrnoException {
  const text = code === "EADDRINUSE" ? "address already in use" : "permission denied";
  return Object.assign(new Error(`listen ${code}: ${text} ${address}:${port}`), { code });
}

/**
 * A ForwardCarrier that listens on nothing: it records each `listen` and
 * each close, and fails an address:port with the code it was told, so the
 * listeners' state machine runs without sockets, root or a link.
 */
export class FakeCarrier implements ForwardCarrier {
  readonly listens: ListenCall[] = [];
  /** `address:port` of each listener closed, in order. */
  readonly closed: string[] = [];
  /** `address:port` (the port asked for, 0 included) → the code its listen fails with. */
  readonly failures = new Map<string, "EADDRINUSE" | "EACCES">();
  /** What port 0 picks next: above 1024, as the kernel's ephemeral range is. */
  private nextFree = 40_000;

  constructor(readonly fixedTarget: boolean) {}

  async listen(address: string, port: number, target: ListenCall["target"]): Promise<CarriedListener> {
    this.listens.push({ address, port, target });
    const code = this.failures.get(`${address}:${port}`);
    if (code) throw listenError(code, address, port);
    const chosen = port === 0 ? ++this.nextFree : port;
    return { port: chosen, close: async () => void this.closed.push(`${address}:${chosen}`) };
  }

  /** `address:port` of every listen asked for, for short assertions. */
  asked(): string[] {
    return this.listens.map((l) => `${l.address}:${l.port}`);
  }
}

/** Root's loopback part as a recorder: every relay, unrelay and alias request, in order, as one readable line each. */
export class FakeLoopback implements RootLoopback {
  readonly calls: string[] = [];
  /** Addresses whose `alias … up` root refuses, with this message. */
  readonly aliasFailures = new Map<string, string>();

  async relay(address: string, port: number, targetPort: number): Promise<void> {
    this.calls.push(`relay ${address}:${port} -> ${targetPort}`);
  }

  async unrelay(address: string, port: number): Promise<void> {
    this.calls.push(`unrelay ${address}:${port}`);
  }

  async alias(address: string, present: boolean): Promise<void> {
    this.calls.push(`alias ${address} ${present ? "up" : "down"}`);
    const failure = present ? this.aliasFailures.get(address) : undefined;
    if (failure) throw new Error(failure);
  }
}

/**
 * A UdpCarrier that binds nothing: it records each UDP listen and close, what a stop removed and what a start swept,
 * and refuses as the relays do (udpRefusal), so the state machine runs without a container engine.
 */
export class FakeUdpCarrier implements UdpCarrier {
  readonly listens: string[] = [];
  readonly closed: string[] = [];
  readonly failures = new Map<string, "EADDRINUSE" | "EACCES">();
  /** What a killed tunnel left, for the next sweep to find. */
  left: string[] = [];
  swept: string[] = [];
  removedAll = 0;

  refusal(spec: { readonly protocol: string; readonly nodePort?: number }): string | null {
    return udpRefusal(spec);
  }

  async listen(spec: { address: string; port: number; nodePort?: number }): Promise<CarriedListener> {
    const where = `${spec.address}:${spec.port}`;
    this.listens.push(`${where} -> node port ${spec.nodePort}`);
    const code = this.failures.get(where);
    if (code) throw listenError(code, spec.address, spec.port);
    return { port: spec.port, close: async () => void this.closed.push(where) };
  }

  async sweep(): Promise<string[]> {
    this.swept.push(...this.left);
    const left = this.left;
    this.left = [];
    return left;
  }

  async removeAll(): Promise<void> {
    this.removedAll++;
  }

  nodesGone = 0;
  async nodeGone(): Promise<void> {
    this.nodesGone++;
  }
}
