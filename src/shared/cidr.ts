import ipaddr from "ipaddr.js";

export type IpFamily = 4 | 6;

/** A network in canonical form: host bits cleared, address normalised. */
export interface Cidr {
  readonly family: IpFamily;
  readonly address: string;
  readonly prefix: number;
  /** `address/prefix`, the canonical text used as a key everywhere. */
  readonly text: string;
}

export class InvalidCidrError extends Error {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`invalid CIDR "${input}": ${reason}`);
    this.name = "InvalidCidrError";
  }
}

function familyOf(addr: ipaddr.IPv4 | ipaddr.IPv6): IpFamily {
  return addr.kind() === "ipv4" ? 4 : 6;
}

function bitLength(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function ipClass(family: IpFamily): typeof ipaddr.IPv4 | typeof ipaddr.IPv6 {
  return family === 4 ? ipaddr.IPv4 : ipaddr.IPv6;
}

function maskBytes(family: IpFamily, prefix: number): number[] {
  return ipClass(family).subnetMaskFromPrefixLength(prefix).toByteArray();
}

function build(family: IpFamily, text: string): Cidr {
  const [, prefix] = ipaddr.parseCIDR(text);
  const address = ipClass(family).networkAddressFromCIDR(text).toString();
  return { family, address, prefix, text: `${address}/${prefix}` };
}

/**
 * Parses `a.b.c.d/n` or `x::/n`. A bare address is a host route (/32 or /128).
 * Host bits must be zero unless `allowHostBits` is set, so a typo such as
 * 10.96.0.1/12 is reported instead of silently routing a different network.
 */
export function parseCidr(input: string, options: { allowHostBits?: boolean } = {}): Cidr {
  const text = input.trim();
  if (text === "") throw new InvalidCidrError(input, "empty");
  const slash = text.indexOf("/");
  const addrText = slash === -1 ? text : text.slice(0, slash);
  if (!ipaddr.isValid(addrText) || addrText.includes("%")) {
    throw new InvalidCidrError(input, "not an IP address");
  }
  if (ipaddr.IPv4.isValid(addrText) && !ipaddr.IPv4.isValidFourPartDecimal(addrText)) {
    throw new InvalidCidrError(input, "IPv4 address must have four decimal parts");
  }
  let addr = ipaddr.parse(addrText);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  const family = familyOf(addr);
  let prefix = bitLength(family);
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) throw new InvalidCidrError(input, "prefix length is not a number");
    prefix = Number(prefixText);
    if (prefix > bitLength(family)) {
      throw new InvalidCidrError(input, `prefix length ${prefix} exceeds ${bitLength(family)}`);
    }
  }
  const cidr = build(family, `${addr.toString()}/${prefix}`);
  if (!options.allowHostBits && cidr.address !== addr.toString()) {
    throw new InvalidCidrError(input, `host bits are set (did you mean ${cidr.text}?)`);
  }
  return cidr;
}

export function isValidCidr(input: string): boolean {
  try {
    parseCidr(input);
    return true;
  } catch {
    return false;
  }
}

/** True when `outer` contains every address of `inner`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  return ipaddr.parse(inner.address).match(ipaddr.parse(outer.address), outer.prefix);
}

/** Two networks overlap exactly when one contains the other. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}

/** Raw mask bytes, as Go stores a net.IPMask (4 bytes for IPv4, 16 for IPv6). */
export function prefixToMaskBytes(family: IpFamily, prefix: number): Uint8Array {
  return Uint8Array.from(maskBytes(family, prefix));
}

/** Dotted netmask for Windows `route ... MASK`. */
export function prefixToNetmask(prefix: number): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString();
}

/** Prefix length of a contiguous 4- or 16-byte mask; throws on holes such as 255.0.255.0. */
export function maskBytesToPrefix(bytes: ArrayLike<number>): number {
  const list = Array.from(bytes);
  if (list.length !== 4 && list.length !== 16) throw new Error(`a mask has 4 or 16 bytes, not ${list.length}`);
  const prefix = ipaddr.fromByteArray(list).prefixLengthFromSubnetMask();
  if (prefix === null) throw new Error("mask is not contiguous");
  return prefix;
}

export function netmaskToPrefix(netmask: string): number {
  if (!ipaddr.IPv4.isValidFourPartDecimal(netmask)) throw new Error(`invalid netmask "${netmask}"`);
  return maskBytesToPrefix(ipaddr.IPv4.parse(netmask).toByteArray());
}

export function cidrFromAddressAndPrefix(address: string, prefix: number): Cidr {
  return parseCidr(`${address}/${prefix}`, { allowHostBits: true });
}

export function isValidIp(address: string): boolean {
  return (
    ipaddr.isValid(address) &&
    !address.includes("%") &&
    (!ipaddr.IPv4.isValid(address) || ipaddr.IPv4.isValidFourPartDecimal(address))
  );
}

export function ipFamily(address: string): IpFamily {
  return familyOf(ipaddr.parse(address));
}

export function normaliseIp(address: string): string {
  return ipaddr.parse(address).toString();
}

/** Number of addresses in the network as a bigint (IPv6 networks are large). */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(bitLength(cidr.family) - cidr.prefix);
}

/** The address at `offset` inside the network. */
export function addressAt(cidr: Cidr, offset: bigint): string {
  const base = ipaddr.parse(cidr.address).toByteArray();
  let carry = offset;
  const bytes = [...base];
  for (let i = bytes.length - 1; i >= 0 && carry > 0n; i--) {
    const sum = BigInt(bytes[i] ?? 0) + (carry & 0xffn);
    bytes[i] = Number(sum & 0xffn);
    carry = (carry >> 8n) + (sum >> 8n);
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export function ipToBigInt(address: string): bigint {
  return ipaddr
    .parse(address)
    .toByteArray()
    .reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

export function bigIntToIp(value: bigint, family: IpFamily): string {
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < bitLength(family) / 8; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** The fewest CIDRs that cover exactly the addresses start..end (inclusive). */
export function rangeToCidrs(start: string, end: string): Cidr[] {
  if (!isValidIp(start) || !isValidIp(end))
    throw new InvalidCidrError(`${start}-${end}`, "range ends must be IP addresses");
  const family = ipFamily(start);
  if (ipFamily(end) !== family) throw new InvalidCidrError(`${start}-${end}`, "range ends are different IP families");
  const bits = bitLength(family);
  let low = ipToBigInt(start);
  const high = ipToBigInt(end);
  if (low > high) throw new InvalidCidrError(`${start}-${end}`, "range start is after its end");
  const result: Cidr[] = [];
  while (low <= high) {
    let size = 0;
    while (size < bits && (low & ((1n << BigInt(size + 1)) - 1n)) === 0n && low + (1n << BigInt(size + 1)) - 1n <= high)
      size++;
    result.push(cidrFromAddressAndPrefix(bigIntToIp(low, family), bits - size));
    low += 1n << BigInt(size);
  }
  return result;
}
