import type { Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import { MAX_QUEUED_BYTES, UdpForwarder, bindUdp } from "./udp-forwarder.js";

// Real UDP sockets on 127.0.0.1: an upstream that answers each datagram with its flow's source port and the datagram,
// standing where the relay's published port is.

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function upstream(): Promise<{ socket: Socket; port: number; seen: string[] }> {
  const socket = await bindUdp("127.0.0.1", 0);
  const seen: string[] = [];
  socket.on("message", (data, from) => {
    seen.push(`${from.port}:${data.toString()}`);
    socket.send(Buffer.concat([Buffer.from(`${from.port}|`), data]), from.port, from.address);
  });
  open.push({ close: () => new Promise<void>((r) => socket.close(() => r())) });
  return { socket, port: socket.address().port, seen };
}

async function client(): Promise<{ socket: Socket; said: Buffer[] }> {
  const socket = await bindUdp("127.0.0.1", 0);
  const said: Buffer[] = [];
  socket.on("message", (data) => said.push(data));
  open.push({ close: () => new Promise<void>((r) => socket.close(() => r())) });
  return { socket, said };
}

async function forwarder(port: number, limits: { idleMs?: number; maxFlows?: number } = {}) {
  const asked = { resolve: 0, unreachable: 0 };
  const f = await UdpForwarder.listen(
    "127.0.0.1",
    0,
    {
      resolve: async () => (asked.resolve++, { host: "127.0.0.1", port }),
      unreachable: () => void asked.unreachable++,
    },
    () => undefined,
    limits,
  );
  open.push(f);
  return { f, asked };
}

describe("UdpForwarder", () => {
  it("keeps every datagram whole and in its own reply, 1,000 of them of 1 to 1,400 bytes, none merged", async () => {
    const up = await upstream();
    const { f } = await forwarder(up.port);
    const c = await client();
    const sizes = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 37) % 1400));
    for (const [i, size] of sizes.entries()) {
      const data = Buffer.alloc(size, i % 251);
      c.socket.send(data, f.port, "127.0.0.1");
      // A steady sender, as a DNS client is; the loopback buffer is not the subject here.
      if (i % 50 === 49) await eventually(() => c.said.length >= i - 10, { what: "replies to catch up" });
    }
    await eventually(() => c.said.length === sizes.length, { what: "every reply", timeoutMs: 10_000 });
    const bodies = c.said.map((d) => d.subarray(d.indexOf("|") + 1));
    expect(bodies.map((b) => b.length).sort((a, b) => a - b)).toEqual([...sizes].sort((a, b) => a - b));
    for (const body of bodies) expect(new Set(body).size).toBe(1);
    // One client is one flow: one upstream socket carried them all.
    expect(new Set(up.seen.map((s) => s.split(":")[0])).size).toBe(1);
  });

  it("each client is a flow of its own upstream, and answers go back to whoever asked", async () => {
    const up = await upstream();
    const { f, asked } = await forwarder(up.port);
    const [a, b] = [await client(), await client()];
    a.socket.send("from-a", f.port, "127.0.0.1");
    b.socket.send("from-b", f.port, "127.0.0.1");
    await eventually(() => a.said.length === 1 && b.said.length === 1, { what: "both answers" });
    expect(a.said[0]!.toString()).toMatch(/\|from-a$/);
    expect(b.said[0]!.toString()).toMatch(/\|from-b$/);
    expect(a.said[0]!.toString().split("|")[0]).not.toBe(b.said[0]!.toString().split("|")[0]);
    expect(f.flowCount).toBe(2);
    expect(asked.resolve).toBe(2);
  });

  it("forgets a flow idle longer than its limit, and closes its upstream socket", async () => {
    const up = await upstream();
    const { f } = await forwarder(up.port, { idleMs: 200 });
    const c = await client();
    c.socket.send("once", f.port, "127.0.0.1");
    await eventually(() => c.said.length === 1, { what: "the answer" });
    expect(f.flowCount).toBe(1);
    await eventually(() => f.flowCount === 0, { what: "the idle flow to go", timeoutMs: 5000 });
    // A datagram after that is a new flow, from a new upstream port.
    c.socket.send("again", f.port, "127.0.0.1");
    await eventually(() => c.said.length === 2, { what: "the second answer" });
    expect(c.said[1]!.toString().split("|")[0]).not.toBe(c.said[0]!.toString().split("|")[0]);
  });

  it("an upstream that is gone (ICMP port unreachable) ends the flow and says so, so the next flow asks again", async () => {
    const up = await upstream();
    const { f, asked } = await forwarder(up.port);
    const c = await client();
    c.socket.send("first", f.port, "127.0.0.1");
    await eventually(() => c.said.length === 1, { what: "the answer" });
    await new Promise<void>((r) => up.socket.close(() => r()));
    open.shift();
    c.socket.send("into the void", f.port, "127.0.0.1");
    await eventually(() => asked.unreachable === 1 && f.flowCount === 0, { what: "the flow to end as unreachable" });
    c.socket.send("next", f.port, "127.0.0.1");
    await eventually(() => asked.resolve === 2, { what: "the next flow to resolve the target again" });
  });

  it("attack: clients from ever new source ports never hold more flows (sockets of ours) than the limit; the quietest goes", async () => {
    const up = await upstream();
    const { f } = await forwarder(up.port, { maxFlows: 4 });
    const clients: Awaited<ReturnType<typeof client>>[] = [];
    for (let i = 0; i < 6; i++) clients.push(await client());
    for (const [i, c] of clients.entries()) {
      c.socket.send(`c${i}`, f.port, "127.0.0.1");
      await eventually(() => c.said.length === 1, { what: `client ${i}'s answer` });
      expect(f.flowCount).toBeLessThanOrEqual(4);
    }
    // The first client is the quietest: its flow went; the newest ones still answer on their own upstreams.
    clients[5]!.socket.send("again", f.port, "127.0.0.1");
    await eventually(() => clients[5]!.said.length === 2, { what: "the newest client's second answer" });
    expect(clients[5]!.said[1]!.toString().split("|")[0]).toBe(clients[5]!.said[0]!.toString().split("|")[0]);
    clients[0]!.socket.send("again", f.port, "127.0.0.1");
    await eventually(() => clients[0]!.said.length === 2, { what: "the first client's answer on a new flow" });
    expect(clients[0]!.said[1]!.toString().split("|")[0]).not.toBe(clients[0]!.said[0]!.toString().split("|")[0]);
    expect(f.flowCount).toBe(4);
  });

  it("attack: datagrams waiting for new flows' upstreams hold at most MAX_QUEUED_BYTES, however many clients send", async () => {
    const up = await upstream();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const f = await UdpForwarder.listen(
      "127.0.0.1",
      0,
      { resolve: async () => (await gate, { host: "127.0.0.1", port: up.port }), unreachable: () => undefined },
      () => undefined,
    );
    open.push(f);
    const clients = await Promise.all(Array.from({ length: 10 }, () => client()));
    const big = Buffer.alloc(60_000, 1);
    // One at a time, the event loop turning between them, so the listener reads each rather than the kernel dropping it.
    for (const c of clients)
      for (let i = 0; i < 10; i++) {
        await new Promise<void>((r) => c.socket.send(big, f.port, "127.0.0.1", () => r()));
        await new Promise((r) => setImmediate(r));
      }
    // A marker from each client after its ten (the kernel may drop some of the big ones before the listener reads them).
    for (const c of clients) c.socket.send("marker", f.port, "127.0.0.1");
    await eventually(() => f.flowCount === 10, { what: "ten flows waiting" });
    expect(f.waitingBytes).toBeGreaterThan(0);
    expect(f.waitingBytes).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    release();
    await eventually(() => up.seen.filter((s) => s.endsWith(":marker")).length === 10, { what: "every marker" });
    const bigOnes = up.seen.filter((s) => !s.endsWith(":marker")).length;
    expect(bigOnes * big.length).toBeLessThanOrEqual(MAX_QUEUED_BYTES);
    expect(f.waitingBytes).toBe(0);
  });

  it("a port another program holds is refused as bind refuses it", async () => {
    const taken = await bindUdp("127.0.0.1", 0);
    open.push({ close: () => new Promise<void>((r) => taken.close(() => r())) });
    await expect(
      UdpForwarder.listen(
        "127.0.0.1",
        taken.address().port,
        { resolve: async () => ({ host: "127.0.0.1", port: 9 }), unreachable: () => undefined },
        () => undefined,
      ),
    ).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
