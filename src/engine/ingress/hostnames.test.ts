import { describe, expect, it } from "vitest";
import { ANY_HOST, hostMatches, intersectHostnames, normaliseHost, wildcardCovers } from "./hostnames.js";

describe("host names as Ingress and Gateway API take them", () => {
  it("normalises case and a trailing dot, keeps a leading wildcard label, refuses IPs and malformed names", () => {
    expect(normaliseHost("Shop.Test.")).toBe("shop.test");
    expect(normaliseHost("*.shop.test")).toBe("*.shop.test");
    expect(normaliseHost("localhost")).toBe("localhost");
    for (const bad of ["10.0.0.1", "::1", "*", "a.*.test", "f*.test", "-a.test", "a..test", "", 7, null, "a_b.test"])
      expect(normaliseHost(bad), String(bad)).toBeNull();
    expect(normaliseHost(`${"a".repeat(63)}.test`)).not.toBeNull();
    expect(normaliseHost(`${"a".repeat(64)}.test`)).toBeNull();
  });

  it("a Gateway wildcard covers one or more labels, an Ingress wildcard exactly one", () => {
    expect(wildcardCovers("*.example.com", "www.example.com", "one-or-more-labels")).toBe(true);
    expect(wildcardCovers("*.example.com", "sub.domain.example.com", "one-or-more-labels")).toBe(true);
    expect(wildcardCovers("*.example.com", "example.com", "one-or-more-labels")).toBe(false);
    expect(wildcardCovers("*.example.com", "wwwexample.com", "one-or-more-labels")).toBe(false);
    expect(wildcardCovers("*.com", "*.example.com", "one-or-more-labels")).toBe(true);
    expect(wildcardCovers("*.example.com", "www.example.com", "one-label")).toBe(true);
    expect(wildcardCovers("*.example.com", "sub.domain.example.com", "one-label")).toBe(false);
    expect(wildcardCovers("*.com", "*.example.com", "one-label")).toBe(false);
    expect(wildcardCovers("www.example.com", "www.example.com", "one-or-more-labels")).toBe(false);
  });

  // The table of "Hostnames in Gateway API" (gateway-api site-src), "Hostname Intersection".
  it.each([
    ["www.example.com", "www.example.com", "www.example.com"],
    ["*.example.com", "www.example.com", "www.example.com"],
    ["*.example.com", "sub.domain.example.com", "sub.domain.example.com"],
    ["www.example.com", "*.example.com", "www.example.com"],
    ["sub.domain.example.com", "*.example.com", "sub.domain.example.com"],
    ["*.example.com", "*.example.com", "*.example.com"],
    ["*.com", "*.example.com", "*.example.com"],
    ["*.example.com", "*.com", "*.example.com"],
    [ANY_HOST, "www.example.com", "www.example.com"],
    ["*.example.com", ANY_HOST, "*.example.com"],
    [ANY_HOST, ANY_HOST, ANY_HOST],
  ])("listener %s ∩ route %s = %s", (listener, route, intersected) => {
    expect(intersectHostnames(listener, route)).toBe(intersected);
  });

  it.each([
    ["www.example.com", "foo.example.com"],
    ["*.example.com", "example.com"],
    ["*.example.com", "test.example.net"],
    ["*.foo.example.com", "*.bar.example.com"],
    ["abc.foo.example.com", "bar.com"],
  ])("listener %s and route %s do not intersect", (listener, route) => {
    expect(intersectHostnames(listener, route)).toBeNull();
  });

  it("answers a query by exact name or by the wildcard rule of the name's source", () => {
    const ingress = { host: "*.shop.test", source: "ingress" as const };
    const gateway = { host: "*.shop.test", source: "gateway" as const };
    expect(hostMatches(ingress, "a.shop.test")).toBe(true);
    expect(hostMatches(ingress, "a.b.shop.test")).toBe(false);
    expect(hostMatches(gateway, "a.b.shop.test")).toBe(true);
    expect(hostMatches(gateway, "shop.test")).toBe(false);
    expect(hostMatches({ host: "shop.test", source: "ingress" }, "SHOP.test.")).toBe(true);
    expect(hostMatches(gateway, "*.shop.test")).toBe(true);
    expect(hostMatches(gateway, "*.a.shop.test")).toBe(false);
  });
});
