import dnsPacket from "dns-packet";
import { describe, expect, it, vi } from "vitest";
import { WildcardZone } from "./wildcard-zone.js";

function query(name: string, extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: "query",
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: "A", name, class: "IN" }],
    ...extra,
  });
}

/** A header claiming `questions` questions, followed by as many root-name questions as fit in `bytes`. */
function manyQuestions(questions: number, bytes: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(1, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(questions, 4);
  const one = Buffer.from([0, 0, 1, 0, 1]);
  return Buffer.concat([header, ...Array.from({ length: Math.floor((bytes - 12) / one.length) }, () => one)]);
}

const answerOf = (zone: WildcardZone, message: Buffer) => {
  const reply = zone.answer(message);
  return reply ? (dnsPacket.decode(reply) as dnsPacket.DecodedPacket & { rcode?: string }) : null;
};

describe("the wildcard zone's answers, as an attacker would send queries", () => {
  const zone = new WildcardZone();
  zone.set("s1/minikube", [{ pattern: "*.shop.test", ip: "192.168.49.2", reach: "one-label" }]);

  it("drops a message over 1232 bytes undecoded (a 64 KiB packet of 65535 questions cost 166 ms to decode)", () => {
    const decode = vi.spyOn(dnsPacket, "decode");
    try {
      expect(zone.answer(manyQuestions(65535, 65_000))).toBeNull();
      expect(manyQuestions(1, 1240).length).toBeGreaterThan(1232);
      expect(zone.answer(manyQuestions(1, 1240))).toBeNull();
      // Within the size, a header that counts more than one question is refused from its 12 bytes alone.
      expect(zone.answer(manyQuestions(200, 1000))).not.toBeNull();
      expect(decode).not.toHaveBeenCalled();
      // The spy does see a query the zone reads.
      expect(zone.answer(query("api.shop.test"))).not.toBeNull();
      expect(decode).toHaveBeenCalledTimes(1);
    } finally {
      decode.mockRestore();
    }
  });

  it("counts from the header, before decoding: one question, no answer or authority records, at most one additional", () => {
    expect(answerOf(zone, manyQuestions(200, 1000))).toMatchObject({ rcode: "FORMERR", questions: [] });
    const answer = { type: "A" as const, name: "x.shop.test", data: "10.0.0.1", ttl: 1 };
    expect(answerOf(zone, query("api.shop.test", { answers: [answer] }))?.rcode).toBe("FORMERR");
    expect(answerOf(zone, query("api.shop.test", { authorities: [answer] }))?.rcode).toBe("FORMERR");
    expect(answerOf(zone, query("api.shop.test", { additionals: [answer, answer] }))?.rcode).toBe("FORMERR");
    // An EDNS record is the one additional a resolver sends: answered.
    const edns = query("api.shop.test", {
      additionals: [
        {
          type: "OPT",
          name: ".",
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    expect(answerOf(zone, edns)?.answers).toEqual([expect.objectContaining({ data: "192.168.49.2" })]);
    expect(answerOf(zone, query("api.shop.test"))?.answers).toHaveLength(1);
  });

  it("cuts an answer over 512 bytes to its question with TC set (a client retries over TCP); TCP gets it whole", () => {
    const deep = new WildcardZone();
    deep.set("s1/p", [{ pattern: "*.shop.test", ip: "fd00::1", reach: "one-or-more-labels" }]);
    const name = `${Array.from({ length: 4 }, () => "a".repeat(60)).join(".")}.shop.test`;
    const message = dnsPacket.encode({ type: "query", id: 3, questions: [{ type: "AAAA", name }] });
    const cut = dnsPacket.decode(deep.answer(message)!);
    expect(cut).toMatchObject({ flag_tc: true, answers: [], questions: [expect.objectContaining({ name })] });
    const whole = dnsPacket.decode(deep.answer(message, 65_535)!);
    expect(whole).toMatchObject({ flag_tc: false, answers: [expect.objectContaining({ data: "fd00::1" })] });
  });

  // What a query costs at 4096 patterns (a walk of its labels, not of every pattern) is the benchmark's to show.
  it("answers 4096 patterns right, the most specific first", () => {
    const big = new WildcardZone();
    for (let owner = 0; owner < 16; owner++)
      big.set(
        `s${owner}/p`,
        Array.from({ length: 256 }, (_, i) => ({
          pattern: i === 0 ? `*.shop${owner}.test` : `*.a${i}.shop${owner}.test`,
          ip: `10.${owner}.${i}.1`,
          reach: "one-label" as const,
        })),
      );
    expect(big.size).toBe(4096);
    expect(big.domains()).toHaveLength(4096);
    expect(big.lookup("x.a17.shop3.test").entry?.ip).toBe("10.3.17.1");
    expect(big.lookup("a17.shop3.test").entry?.ip).toBe("10.3.0.1");
    expect(big.lookup("x.y.shop3.test")).toEqual({ entry: null, inZone: true });
    expect(big.lookup("wpad.a17.shop3.test").entry).toBeNull();
    expect(big.lookup("x.a17.shop99.test")).toEqual({ entry: null, inZone: false });
    expect(answerOf(big, query("a5.shop15.test"))).toMatchObject({ rcode: "NOERROR", answers: [expect.anything()] });
    expect(answerOf(big, query("shop15.test"))).toMatchObject({ rcode: "NOERROR", answers: [] });
    expect(answerOf(big, query("q.r.a5.shop15.test"))?.rcode).toBe("NXDOMAIN");
  });
});
