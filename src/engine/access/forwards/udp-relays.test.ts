import type { Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import type { ContainerCli, UdpRelaySpec } from "../../cluster/container-cli.js";
import type { CarriedListener } from "./forward-carrier.js";
import { bindUdp } from "./udp-forwarder.js";
import { MAX_RELAYS, UdpRelays, relayName } from "./udp-relays.js";

// UdpRelays' bookkeeping against an engine that runs each "relay" as a real UDP echo socket on 127.0.0.1 (the
// container engine's part runs for real in mktunnel-forward-udp.integration.test.ts).

class EchoEngine {
  readonly calls: string[] = [];
  readonly relays = new Map<string, { socket: Socket; labelled: boolean }>();
  /** Held until a test lets a `run` finish. */
  gate: Promise<void> = Promise.resolve();
  /** `run` fails, as with the node stopped. */
  failing = false;

  async nodePlacement() {
    return { image: "sha256:node", network: "minikube", ip: "192.168.49.2" };
  }

  async udpRelays(): Promise<string[]> {
    return [...this.relays].filter(([, r]) => r.labelled).map(([name]) => name);
  }

  async startUdpRelay(spec: UdpRelaySpec) {
    this.calls.push(`run ${spec.name}`);
    await this.gate;
    if (this.failing) throw new Error("Error response from daemon: network minikube not found");
    if (this.relays.has(spec.name)) throw new Error(`Conflict. The container name "/${spec.name}" is already in use`);
    const socket = await bindUdp("127.0.0.1", 0);
    socket.on("message", (data, from) => socket.send(data, from.port, from.address));
    this.relays.set(spec.name, { socket, labelled: true });
    return { host: "127.0.0.1", port: socket.address().port };
  }

  async relayPort(name: string) {
    this.calls.push(`inspect ${name}`);
    const relay = this.relays.get(name);
    return relay ? { host: "127.0.0.1", port: relay.socket.address().port } : null;
  }

  async remove(names: readonly string[]) {
    for (const name of names) {
      this.calls.push(`rm ${name}`);
      const relay = this.relays.get(name);
      this.relays.delete(name);
      await new Promise<void>((resolve) => (relay ? relay.socket.close(() => resolve()) : resolve()));
    }
  }

  runs(): number {
    return this.calls.filter((c) => c.startsWith("run ")).length;
  }
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of open.splice(0).reverse()) await s.close();
});

const spec = (port: number, nodePort = 30053) => ({ address: "127.0.0.1", port, protocol: "UDP", nodePort });

async function setup(checkMs?: number) {
  const engine = new EchoEngine();
  const relays = new UdpRelays(engine as unknown as ContainerCli, "minikube", () => undefined, undefined, checkMs);
  open.push({ close: () => relays.removeAll() }, { close: () => engine.remove([...engine.relays.keys()]) });
  const listen = async (port = 0, nodePort = 30053): Promise<CarriedListener> => {
    const listener = await relays.listen(spec(port, nodePort));
    open.push(listener);
    return listener;
  };
  return { engine, relays, listen };
}

async function client(): Promise<{ ask(port: number, text: string): void; said: string[] }> {
  const socket = await bindUdp("127.0.0.1", 0);
  const said: string[] = [];
  socket.on("message", (data) => said.push(data.toString()));
  open.push({ close: () => new Promise<void>((r) => socket.close(() => r())) });
  return { ask: (port, text) => socket.send(text, port, "127.0.0.1"), said };
}

describe("UdpRelays", () => {
  it("one relay per node port, shared by its listeners, removed with the last one", async () => {
    const { engine, listen } = await setup();
    const a = await listen();
    const b = await listen();
    expect(engine.runs()).toBe(1);
    await a.close();
    expect([...engine.relays.keys()]).toEqual([relayName("minikube", 30053)]);
    await b.close();
    expect(engine.relays.size).toBe(0);
  });

  it("a relay removed behind its back: five clients whose flows all met the old one come back through one new relay", async () => {
    const { engine, listen } = await setup();
    const listener = await listen();
    const clients = await Promise.all(Array.from({ length: 5 }, () => client()));
    for (const [i, c] of clients.entries()) {
      c.ask(listener.port, `first ${i}`);
      await eventually(() => c.said.length === 1, { what: `client ${i}'s first answer` });
    }
    await engine.remove([relayName("minikube", 30053)]);
    // One client after another asks again until answered: the first finds the relay gone and its next flow starts a
    // new one; each later client's old flow then meets the old relay's port, and must not throw the new relay away.
    for (const [i, c] of clients.entries())
      await eventually(
        () => {
          c.ask(listener.port, `again ${i}`);
          return c.said.length >= 2;
        },
        { everyMs: 50, what: `client ${i}'s answer after the relay went` },
      );
    expect(engine.runs()).toBe(2);
  });

  it("a UDP port another program holds costs no container", async () => {
    const { engine, relays } = await setup();
    const taken = await bindUdp("127.0.0.1", 0);
    open.push({ close: () => new Promise<void>((r) => taken.close(() => r())) });
    await expect(relays.listen(spec(taken.address().port))).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(engine.calls).toEqual([]);
  });

  it("attack: a container named as our relay but without our label is never removed; the port fails instead", async () => {
    const { engine, relays } = await setup();
    const theirs = await bindUdp("127.0.0.1", 0);
    engine.relays.set(relayName("minikube", 30053), { socket: theirs, labelled: false });
    await expect(relays.listen(spec(0))).rejects.toThrow(/already in use/);
    expect(engine.calls.filter((c) => c.startsWith("rm "))).toEqual([]);
    expect(engine.relays.get(relayName("minikube", 30053))?.labelled).toBe(false);
  });

  it("a stop while a relay is being started removes what the start made", async () => {
    const { engine, relays } = await setup();
    let finish!: () => void;
    engine.gate = new Promise((r) => (finish = r));
    const listening = relays.listen(spec(0)).catch((error: Error) => error);
    await eventually(() => engine.runs() === 1, { what: "the relay's run" });
    const removed = relays.removeAll();
    finish();
    await removed;
    await listening;
    expect(engine.relays.size).toBe(0);
  });

  it("attack: a relay gone frees its published port; another program that takes it never gets the flows' datagrams", async () => {
    const { engine, listen } = await setup(50);
    const listener = await listen();
    const c = await client();
    c.ask(listener.port, "first");
    await eventually(() => c.said.length === 1, { what: "the first answer" });
    const name = relayName("minikube", 30053);
    const old = engine.relays.get(name)!.socket.address().port;
    await engine.remove([name]);
    const squatter = await bindUdp("127.0.0.1", old);
    open.push({ close: () => new Promise<void>((r) => squatter.close(() => r())) });
    const stolen: string[] = [];
    squatter.on("message", (data, from) => (stolen.push(data.toString()), squatter.send("SQUATTER", from.port)));
    // The relay's container is looked at again within its interval, and found gone.
    const inspected = engine.calls.length;
    await eventually(() => engine.calls.slice(inspected).some((call) => call === `inspect ${name}`), {
      what: "the relay looked at",
    });
    await eventually(
      () => {
        c.ask(listener.port, "again");
        return c.said.includes("again");
      },
      { everyMs: 50, what: "an answer through a new relay" },
    );
    expect(stolen).toEqual([]);
    expect(c.said).not.toContain("SQUATTER");
  });

  it("attack: the cluster's UDP node ports are relayed up to MAX_RELAYS containers a profile, no more", async () => {
    const { engine, listen } = await setup();
    for (let i = 0; i < MAX_RELAYS; i++) await listen(0, 31000 + i);
    await expect(listen(0, 32000)).rejects.toThrow(`already relays ${MAX_RELAYS} UDP node ports`);
    // Another listener of a node port already relayed shares its relay.
    await listen(0, 31000);
    expect(engine.runs()).toBe(MAX_RELAYS);
  });

  it("a relay that cannot start again is not asked for at every datagram: flows fail at once while it waits to retry", async () => {
    const { engine, listen } = await setup(50);
    const listener = await listen();
    const c = await client();
    c.ask(listener.port, "first");
    await eventually(() => c.said.length === 1, { what: "the first answer" });
    engine.failing = true;
    await engine.remove([relayName("minikube", 30053)]);
    await eventually(
      () => {
        c.ask(listener.port, "again");
        return engine.runs() === 2;
      },
      { everyMs: 20, what: "a failed start" },
    );
    // A client asking again every 20 ms, each datagram a new flow once the last one failed: none asks the engine while
    // the first retry waits (1 s).
    for (let i = 0; i < 10; i++) {
      c.ask(listener.port, `more ${i}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(engine.runs()).toBe(2);
    // The engine works again: the first datagram after the wait starts the relay.
    engine.failing = false;
    await eventually(
      () => {
        c.ask(listener.port, "last");
        return c.said.includes("last");
      },
      { everyMs: 100, timeoutMs: 10_000, what: "an answer once the retry is due" },
    );
    expect(engine.runs()).toBe(3);
  });

  it("the node gone: its relays go (they would keep its network from being removed); the listener stays, and the next flow starts one again", async () => {
    const { engine, relays, listen } = await setup();
    const listener = await listen();
    const c = await client();
    c.ask(listener.port, "first");
    await eventually(() => c.said.length === 1, { what: "the first answer" });
    await relays.nodeGone();
    expect(engine.relays.size).toBe(0);
    await eventually(
      () => {
        c.ask(listener.port, "back");
        return c.said.includes("back");
      },
      { everyMs: 50, what: "an answer through a new relay" },
    );
    expect(engine.runs()).toBe(2);
  });
});
