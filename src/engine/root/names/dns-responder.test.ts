import { createSocket } from "node:dgram";
import { connect } from "node:net";
import * as dnsPacket from "dns-packet";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DnsResponder } from "./dns-responder.js";
import { WildcardZone } from "./wildcard-zone.js";

const ADDRESS = "127.0.0.1";

function query(name: string, type: dnsPacket.RecordType = "A", extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: "IN" }],
    ...extra,
  });
}

function overUdp(port: number, message: Buffer): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => (socket.close(), reject(new Error("no UDP answer"))), 3000);
    socket.once("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(reply));
    });
    socket.send(message, port, ADDRESS);
  });
}

function overTcp(port: number, messages: Buffer[]): Promise<(dnsPacket.DecodedPacket & { rcode?: string })[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, ADDRESS);
    const replies: (dnsPacket.DecodedPacket & { rcode?: string })[] = [];
    let buffered = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        replies.push(dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (replies.length === messages.length) socket.end(() => resolve(replies));
    });
    // Both queries in one write, the second split from its length: framing, not packets, delimits them.
    socket.write(Buffer.concat(messages.map((m) => dnsPacket.streamEncode(dnsPacket.decode(m)))));
  });
}

describe("root's DNS responder for wildcard names, on real sockets", () => {
  let zone: WildcardZone;
  let responder: DnsResponder;

  beforeEach(async () => {
    zone = new WildcardZone();
    zone.set("s1/minikube", [
      { pattern: "*.shop.test", ip: "192.168.49.2", reach: "one-label" },
      { pattern: "*.gw.test", ip: "127.70.255.9", reach: "one-or-more-labels" },
      { pattern: "*.v6.test", ip: "fd00:49::2", reach: "one-label" },
    ]);
    responder = await DnsResponder.listen(zone, ADDRESS, 0);
  });
  afterEach(() => responder.close());

  it("answers A for a name one label under an Ingress wildcard, with the question's case, authoritative", async () => {
    const reply = await overUdp(responder.port, query("Api.Shop.TEST"));
    expect(reply).toMatchObject({
      id: 4242,
      type: "response",
      flag_aa: true,
      flag_rd: true,
      flag_ra: false,
      rcode: "NOERROR",
    });
    expect(reply.answers).toEqual([
      expect.objectContaining({ type: "A", name: "Api.Shop.TEST", data: "192.168.49.2", ttl: 5 }),
    ]);
  });

  it("an Ingress wildcard covers one label, a Gateway's one or more; the domain itself has no address", async () => {
    expect((await overUdp(responder.port, query("a.b.shop.test"))).rcode).toBe("NXDOMAIN");
    const deep = await overUdp(responder.port, query("a.b.gw.test"));
    expect(deep.answers?.[0]).toMatchObject({ type: "A", data: "127.70.255.9" });
    const apex = await overUdp(responder.port, query("shop.test"));
    expect(apex).toMatchObject({ rcode: "NOERROR", answers: [] });
  });

  it("another type or family is NOERROR without records; AAAA for an IPv6 address", async () => {
    expect(await overUdp(responder.port, query("api.shop.test", "AAAA"))).toMatchObject({
      rcode: "NOERROR",
      answers: [],
    });
    expect(await overUdp(responder.port, query("api.shop.test", "MX"))).toMatchObject({
      rcode: "NOERROR",
      answers: [],
    });
    expect((await overUdp(responder.port, query("api.v6.test", "AAAA"))).answers?.[0]).toMatchObject({
      type: "AAAA",
      data: "fd00:49::2",
    });
  });

  it("is nobody's resolver: every name outside its patterns is REFUSED, without an answer", async () => {
    for (const name of ["example.com", "test", "evilshop.test", "shop.test.evil.com", "wpad.shop.test"]) {
      const reply = await overUdp(responder.port, query(name));
      expect(reply.answers, name).toEqual([]);
      if (name !== "wpad.shop.test") expect(reply.rcode, name).toBe("REFUSED");
    }
  });

  it("refuses what is not one plain query: no answer to an answer, FORMERR for two questions, NOTIMP for an update", async () => {
    const two = dnsPacket.encode({
      type: "query",
      id: 7,
      questions: [
        { type: "A", name: "a.shop.test" },
        { type: "A", name: "b.shop.test" },
      ],
    });
    expect((await overUdp(responder.port, two)).rcode).toBe("FORMERR");
    const update = Buffer.from(query("a.shop.test"));
    update.writeUInt16BE(5 << 11, 2);
    expect((await overUdp(responder.port, update)).rcode).toBe("NOTIMP");
    // A response sent to it is dropped (no reflection loop); the next query still gets its answer.
    const response = Buffer.from(query("a.shop.test"));
    response.writeUInt16BE(0x8000, 2);
    const socket = createSocket("udp4");
    await new Promise<void>((r) => socket.send(response, responder.port, ADDRESS, () => r()));
    socket.close();
    expect((await overUdp(responder.port, query("a.shop.test"))).answers).toHaveLength(1);
    expect(zone.answer(Buffer.from([1, 2, 3]))).toBeNull();
  });

  it("answers over TCP, two framed queries on one connection", async () => {
    const [a, b] = await overTcp(responder.port, [query("x.shop.test"), query("github.com")]);
    expect(a?.answers?.[0]).toMatchObject({ data: "192.168.49.2" });
    expect(b?.rcode).toBe("REFUSED");
  });

  it("follows its zone: a pattern taken back is REFUSED at once; the most specific pattern wins", async () => {
    zone.set("s2/other", [{ pattern: "*.api.shop.test", ip: "10.96.0.30", reach: "one-label" }]);
    expect((await overUdp(responder.port, query("v1.api.shop.test"))).answers?.[0]).toMatchObject({
      data: "10.96.0.30",
    });
    zone.set("s1/minikube", null);
    expect((await overUdp(responder.port, query("api.shop.test"))).rcode).toBe("NOERROR");
    expect((await overUdp(responder.port, query("web.shop.test"))).rcode).toBe("REFUSED");
    zone.set("s2/other", null);
    expect((await overUdp(responder.port, query("v1.api.shop.test"))).rcode).toBe("REFUSED");
    expect(zone.domains()).toEqual([]);
  });

  it("bounds TCP: an oversized message closes the connection", async () => {
    const socket = connect(responder.port, ADDRESS);
    const closed = new Promise((r) => socket.on("close", r));
    socket.on("error", () => undefined);
    socket.write(Buffer.from([0xff, 0xff, 0, 0]));
    await closed;
  });
});

describe("root's DNS responder against a client that floods it", () => {
  let zone: WildcardZone;
  let responder: DnsResponder;

  beforeEach(async () => {
    zone = new WildcardZone();
    zone.set("s1/minikube", [{ pattern: "*.shop.test", ip: "192.168.49.2", reach: "one-label" }]);
    responder = await DnsResponder.listen(zone, ADDRESS, 0, { idleMs: 500 });
  });
  afterEach(() => responder.close());

  it("a TCP client pipelining queries and never reading its answers: root's queued output stays bounded, and it is dropped", async () => {
    const framed = dnsPacket.streamEncode(dnsPacket.decode(query("zzz.a0.shop.test")));
    const batch = Buffer.concat(Array.from({ length: 2000 }, () => framed));
    const socket = connect(responder.port, ADDRESS);
    socket.on("error", () => undefined);
    let most = 0;
    let sent = 0;
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    // As the reviewer's tcpflood.mjs: write while the kernel takes it, never read (32 MiB of queries at most).
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.pause();
    const pump = () => {
      while (!socket.destroyed && sent < 32 * 1024 * 1024) {
        most = Math.max(most, responder.pendingOutput);
        sent += batch.length;
        if (!socket.write(batch)) return;
      }
    };
    socket.on("drain", pump);
    pump();
    const sampler = setInterval(() => (most = Math.max(most, responder.pendingOutput)), 5);
    await closed;
    clearInterval(sampler);
    expect(most).toBeLessThanOrEqual(64 * 1024 + 1024);
    expect(responder.pendingOutput).toBe(0);
    // Everyone else is still answered.
    expect((await overUdp(responder.port, query("api.shop.test"))).answers).toHaveLength(1);
    expect((await overTcp(responder.port, [query("api.shop.test")]))[0]?.answers).toHaveLength(1);
  }, 30_000);

  it("drops a UDP packet over 1232 bytes (65535 questions) unanswered, and still answers the next query", async () => {
    const name = Buffer.from([0]);
    const question = Buffer.concat([name, Buffer.from([0, 1, 0, 1])]);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(99, 0);
    header.writeUInt16BE(0x0100, 2);
    header.writeUInt16BE(65535, 4);
    const bomb = Buffer.concat([header, ...Array.from({ length: 13_000 }, () => question)]);
    const socket = createSocket("udp4");
    let answered = 0;
    socket.on("message", () => answered++);
    for (let i = 0; i < 20; i++) await new Promise<void>((r) => socket.send(bomb, responder.port, ADDRESS, () => r()));
    expect((await overUdp(responder.port, query("api.shop.test"))).answers).toHaveLength(1);
    socket.close();
    expect(answered).toBe(0);
  });
});
