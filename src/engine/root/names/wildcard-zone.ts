import dnsPacket from "dns-packet";
import ipaddr from "ipaddr.js";
import type { WildcardEntry } from "../root.js";

/** DNS header bits (RFC 1035 4.1.1; dns-packet encodes `flags` as given, rcode in the low four bits). */
const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const RD = 0x0100;
const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const TC = dnsPacket.TRUNCATED_RESPONSE;
/**
 * The largest query answered, over UDP or TCP: one question and an EDNS record take a few hundred bytes, and 1232 is the
 * DNS flag day's safe UDP size. A larger message is dropped before any of it is decoded.
 */
export const MAX_QUERY = 1232;
/** Largest answer without EDNS (RFC 1035 2.3.4); a TCP caller passes a larger limit. */
const MAX_REPLY = 512;
/** Short: a pattern taken back, or moved to another address, is forgotten by caches within seconds. */
const TTL = 5;

/**
 * Everything root's DNS responder answers for, held by owner (one session's profile): the wildcard patterns root's
 * policy let through (root-session.ts `setWildcards`). Pure: the server (dns-responder.ts) only feeds it bytes.
 * docs/architecture.md, "Ingress and Gateway names", "Wildcards".
 */
export class WildcardZone {
  private readonly owners = new Map<string, readonly WildcardEntry[]>();
  /** Every owner's entries by domain (the pattern without `*.`), in owner order: a query walks its name's suffixes. */
  private byDomain = new Map<string, WildcardEntry[]>();
  /** `domains()`, kept from the last change: the OS routing and every NODATA answer ask for it. */
  private sortedDomains: string[] = [];

  set(owner: string, entries: readonly WildcardEntry[] | null): void {
    if (entries === null || entries.length === 0) this.owners.delete(owner);
    else this.owners.set(owner, entries);
    this.byDomain = new Map();
    for (const owned of this.owners.values())
      for (const e of owned) {
        const domain = e.pattern.slice(2);
        const list = this.byDomain.get(domain);
        if (list) list.push(e);
        else this.byDomain.set(domain, [e]);
      }
    this.sortedDomains = [...this.byDomain.keys()].sort();
  }

  get size(): number {
    let n = 0;
    for (const entries of this.owners.values()) n += entries.length;
    return n;
  }

  /** How many entries there would be with `owner`'s replaced by `count` of them. */
  sizeWith(owner: string, count: number): number {
    return this.size - (this.owners.get(owner)?.length ?? 0) + count;
  }

  /** The domains the OS resolver routes to the responder: each pattern without its `*.`, sorted, without repeats. */
  domains(): string[] {
    return [...this.sortedDomains];
  }

  /**
   * The entry a name falls to: the most specific pattern that matches it (`*.api.shop.test` before `*.shop.test`), the
   * first owner's when two declare the same one. `inZone`: the name is one of the domains or under one. Walks the
   * name's suffixes, longest first, through the index: a query costs its labels, not the zone's patterns.
   */
  lookup(name: string): { entry: WildcardEntry | null; inZone: boolean } {
    let inZone = false;
    for (let at = 0; at !== -1; at = name.indexOf(".", at) + 1 || -1) {
      const entries = this.byDomain.get(name.slice(at));
      if (!entries) continue;
      inZone = true;
      if (at === 0) continue;
      const extra = name.slice(0, at - 1);
      // Clients find a proxy or a tunnel by these names (name-policy.ts): a wildcard never answers them.
      if (/^(wpad|isatap)(\.|$)/.test(extra)) return { entry: null, inZone };
      const entry = entries.find((e) => e.reach !== "one-label" || !extra.includes("."));
      if (entry) return { entry, inZone };
    }
    return { entry: null, inZone };
  }

  /**
   * The answer to one query message, or null when it deserves none (not a query, or not even a header). Answers A and
   * AAAA of matching names; NOERROR without records for another type or family (RFC 2308 NODATA) and for a domain
   * itself; NXDOMAIN for other names under a domain; REFUSED for every name outside: it is never anyone's resolver.
   */
  answer(message: Buffer, limit = MAX_REPLY): Buffer | null {
    if (message.length < 12 || message.length > MAX_QUERY) return null;
    const id = message.readUInt16BE(0);
    const flags = message.readUInt16BE(2);
    if (flags & QR) return null;
    const reply = (rcode: number, extra: dnsPacket.Packet = {}) =>
      dnsPacket.encode({ type: "response", id, flags: (flags & (OPCODE_MASK | RD)) | rcode, ...extra });
    if ((flags & OPCODE_MASK) !== 0) return reply(RCODE.NOTIMP);
    // Counted from the header before anything is decoded: one question, no answers or authority, at most an EDNS
    // record. A packet of thousands of questions would otherwise be decoded whole for the one it may ask.
    const [qd, an, ns, ar] = [4, 6, 8, 10].map((at) => message.readUInt16BE(at));
    if (qd !== 1 || an !== 0 || ns !== 0 || ar! > 1) return reply(RCODE.FORMERR);
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return reply(RCODE.FORMERR);
    }
    const question = query.questions?.length === 1 ? query.questions[0]! : null;
    if (!question) return reply(RCODE.FORMERR);
    const echo = { questions: [question] };
    const name = question.name.toLowerCase().replace(/\.$/, "");
    const { entry, inZone } = this.lookup(name);
    if (!inZone || (question.class !== undefined && question.class !== "IN" && question.class !== "ANY"))
      return reply(RCODE.REFUSED, echo);
    if (!entry) return reply(AA | (name === "" ? RCODE.REFUSED : this.isDomain(name) ? 0 : RCODE.NXDOMAIN), echo);
    const family = ipaddr.parse(entry.ip).kind() === "ipv4" ? "A" : "AAAA";
    const answers: dnsPacket.Answer[] =
      question.type === family ? [{ type: family, name: question.name, ttl: TTL, class: "IN", data: entry.ip }] : [];
    const full = reply(AA | RCODE.NOERROR, { ...echo, answers });
    // A long name asked twice (question and answer) can pass a plain UDP answer's 512 bytes: the client retries over
    // TCP when told the answer was cut (RFC 1035 4.2.1, RFC 7766). The question alone is at most 275 bytes.
    return full.length <= limit ? full : reply(AA | TC | RCODE.NOERROR, echo);
  }

  private isDomain(name: string): boolean {
    return this.byDomain.has(name);
  }
}
