import { describe, expect, it } from "vitest";
import {
  InvalidCidrError,
  addressAt,
  cidrsOverlap,
  containsCidr,
  maskBytesToPrefix,
  netmaskToPrefix,
  parseCidr,
  prefixToMaskBytes,
  prefixToNetmask,
} from "./cidr.js";

describe("parseCidr", () => {
  it("normalises IPv4 and IPv6 networks", () => {
    expect(parseCidr("10.96.0.0/12")).toMatchObject({
      family: 4,
      address: "10.96.0.0",
      prefix: 12,
      text: "10.96.0.0/12",
    });
    expect(parseCidr("FD00:10:96:0::/112").text).toBe("fd00:10:96::/112");
    expect(parseCidr("10.0.0.7").text).toBe("10.0.0.7/32");
    expect(parseCidr("::1").text).toBe("::1/128");
  });

  it.each([
    ["", "empty"],
    ["10.96.0.0/33", "exceeds 32"],
    ["fd00::/129", "exceeds 128"],
    ["10.96.0.1/12", "host bits are set (did you mean 10.96.0.0/12?)"],
    ["10.96/12", "four decimal parts"],
    ["banana/8", "not an IP address"],
    ["10.0.0.0/x", "not a number"],
    ["10.0.0.0/8; rm -rf /", "not a number"],
    ["fe80::1%eth0/64", "not an IP address"],
  ])("rejects %j naming the problem", (input, reason) => {
    expect(() => parseCidr(input)).toThrow(InvalidCidrError);
    expect(() => parseCidr(input)).toThrow(reason);
  });

  it("clears host bits when asked to", () => {
    expect(parseCidr("10.96.0.1/12", { allowHostBits: true }).text).toBe("10.96.0.0/12");
  });
});

describe("overlap", () => {
  const c = (s: string) => parseCidr(s);
  it.each([
    ["10.96.0.0/12", "10.96.0.0/16", true],
    ["10.96.0.0/16", "10.96.0.0/12", true],
    ["10.0.0.0/8", "10.96.0.0/12", true],
    ["10.96.0.0/12", "10.112.0.0/12", false],
    ["10.96.0.0/12", "10.111.255.255/32", true],
    ["10.96.0.0/12", "10.112.0.0/32", false],
    ["fd00:10:96::/112", "fd00:10:96::/64", true],
    ["fd00:10:96::/112", "fd00:10:97::/112", false],
    ["fd00::/8", "10.0.0.0/8", false],
  ])("%s vs %s → %s", (a, b, expected) => {
    expect(cidrsOverlap(c(a), c(b))).toBe(expected);
    expect(cidrsOverlap(c(b), c(a))).toBe(expected);
  });

  it("containment is directional", () => {
    expect(containsCidr(c("10.0.0.0/8"), c("10.96.0.0/12"))).toBe(true);
    expect(containsCidr(c("10.96.0.0/12"), c("10.0.0.0/8"))).toBe(false);
  });
});

describe("masks", () => {
  it("encodes masks as Go's raw bytes", () => {
    expect(Buffer.from(prefixToMaskBytes(4, 12)).toString("base64")).toBe("//AAAA==");
    expect(prefixToMaskBytes(6, 112)).toHaveLength(16);
    expect(maskBytesToPrefix(prefixToMaskBytes(6, 112))).toBe(112);
  });
  it("converts dotted netmasks both ways", () => {
    expect(prefixToNetmask(12)).toBe("255.240.0.0");
    expect(netmaskToPrefix("255.255.255.0")).toBe(24);
    expect(() => netmaskToPrefix("255.0.255.0")).toThrow("not contiguous");
  });
  it("finds addresses inside a network", () => {
    expect(addressAt(parseCidr("10.96.0.0/12"), 10n)).toBe("10.96.0.10");
    expect(addressAt(parseCidr("10.96.0.0/12"), 256n)).toBe("10.96.1.0");
    expect(addressAt(parseCidr("fd00:10:96::/112"), 1n)).toBe("fd00:10:96::1");
  });
});
