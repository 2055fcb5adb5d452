import {
  type Cidr,
  type IpFamily,
  InvalidCidrError,
  bigIntToIp,
  cidrSize,
  ipFamily,
  ipToBigInt,
  isValidIp,
  normaliseIp,
  parseCidr,
  rangeToCidrs,
} from "../../shared/cidr.js";

interface Range {
  readonly family: IpFamily;
  readonly first: bigint;
  readonly last: bigint;
}

export type ClaimResult = "ok" | "outside-pool" | "taken";

/**
 * LoadBalancer IP pool: a CIDR (`172.30.0.0/24`) or a range
 * (`172.30.0.10-172.30.0.50`), or several. IPv4 CIDRs skip their network and
 * broadcast addresses, which some clients mishandle.
 */
export class IpPool {
  private readonly ranges: Range[];
  private readonly owners = new Map<string, string>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly cursor = new Map<Range, bigint>();

  constructor(readonly spec: readonly string[]) {
    this.ranges = spec.map(parseRange);
    for (const range of this.ranges) this.cursor.set(range, range.first);
  }

  /** The networks to route for this pool. */
  cidrs(): Cidr[] {
    return this.spec.flatMap((text) => {
      if (text.includes("-")) {
        const [start = "", end = ""] = text.split("-").map((s) => s.trim());
        return rangeToCidrs(start, end);
      }
      return [parseCidr(text)];
    });
  }

  contains(ip: string): boolean {
    if (!isValidIp(ip)) return false;
    const family = ipFamily(ip);
    const value = ipToBigInt(ip);
    return this.ranges.some((r) => r.family === family && value >= r.first && value <= r.last);
  }

  ownerOf(ip: string): string | undefined {
    return this.owners.get(normaliseIp(ip));
  }

  allocated(owner: string): string[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  get size(): number {
    return this.owners.size;
  }

  claim(ip: string, owner: string): ClaimResult {
    if (!this.contains(ip)) return "outside-pool";
    const key = normaliseIp(ip);
    const current = this.owners.get(key);
    if (current !== undefined && current !== owner) return "taken";
    this.owners.set(key, owner);
    const set = this.byOwner.get(owner) ?? new Set<string>();
    set.add(key);
    this.byOwner.set(owner, set);
    return "ok";
  }

  /** The next free address of the wanted family (first that has one), or null when the pool is exhausted. */
  allocate(owner: string, family?: IpFamily): string | null {
    for (const range of this.ranges) {
      if (family !== undefined && range.family !== family) continue;
      const span = range.last - range.first + 1n;
      let candidate = this.cursor.get(range) ?? range.first;
      for (let tried = 0n; tried < span; tried++) {
        const ip = bigIntToIp(candidate, range.family);
        candidate = candidate >= range.last ? range.first : candidate + 1n;
        if (!this.owners.has(ip)) {
          this.cursor.set(range, candidate);
          this.claim(ip, owner);
          return ip;
        }
      }
    }
    return null;
  }

  /** Frees every address of the owner; returns how many were freed. */
  release(owner: string): number {
    const set = this.byOwner.get(owner);
    if (!set) return 0;
    for (const ip of set) this.owners.delete(ip);
    this.byOwner.delete(owner);
    return set.size;
  }
}

function parseRange(text: string): Range {
  const trimmed = text.trim();
  if (trimmed.includes("-")) {
    const [start = "", end = ""] = trimmed.split("-").map((s) => s.trim());
    if (!isValidIp(start) || !isValidIp(end))
      throw new InvalidCidrError(trimmed, "pool range ends must be IP addresses");
    const family = ipFamily(start);
    if (ipFamily(end) !== family) throw new InvalidCidrError(trimmed, "pool range ends are different IP families");
    const first = ipToBigInt(start);
    const last = ipToBigInt(end);
    if (first > last) throw new InvalidCidrError(trimmed, "pool range start is after its end");
    return { family, first, last };
  }
  const cidr = parseCidr(trimmed);
  const first = ipToBigInt(cidr.address);
  const last = first + cidrSize(cidr) - 1n;
  const skipEdges = cidr.family === 4 && cidr.prefix < 31;
  return { family: cidr.family, first: skipEdges ? first + 1n : first, last: skipEdges ? last - 1n : last };
}
