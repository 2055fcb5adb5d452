import { addonAddress, gatewayAddress, hostEntry as entry } from "../../../../test-support/name-entries.js";
import { describe, expect, it } from "vitest";
import type { HostEntry, IngressNames } from "../../ingress/name-types.js";
import { curlResolveLine, ingressRequest, ingressStatuses } from "./ingress-names.js";

const route = (e: HostEntry) => ({ ip: e.address.ip });

describe("Ingress and Gateway names for root and for the window", () => {
  it("asks root for one line per address, at most four names each, oldest object per host; wildcards apart", () => {
    const names: IngressNames = {
      entries: [
        entry("a.test", "default/a"),
        entry("b.test", "default/b"),
        entry("c.test", "default/c"),
        entry("d.test", "default/d"),
        entry("e.test", "default/e"),
        entry("e.test", "default/younger", gatewayAddress),
        entry("*.shop.test", "default/shop"),
        entry("*.api.test", "default/gw", gatewayAddress, { source: "gateway" }),
        entry("gw.test", "default/gw", gatewayAddress, { source: "gateway" }),
        entry("single", "default/single"),
      ],
      unmapped: [],
    };
    expect(ingressRequest(names, route)).toEqual({
      hosts: [
        { ip: "10.96.5.5", names: ["gw.test"], kind: "ingress" },
        { ip: "192.168.49.2", names: ["a.test", "b.test", "c.test", "d.test"], kind: "ingress" },
        { ip: "192.168.49.2", names: ["e.test"], kind: "ingress" },
      ],
      wildcards: [
        { pattern: "*.shop.test", ip: "192.168.49.2", reach: "one-label" },
        { pattern: "*.api.test", ip: "10.96.5.5", reach: "one-or-more-labels" },
      ],
    });
  });

  it("shows every name: mapped, or why not, with its address for curl --resolve; Ingresses and Gateways apart", () => {
    const names: IngressNames = {
      entries: [
        entry("shop.test", "default/shop"),
        entry("shop.test", "default/later", gatewayAddress),
        entry("github.com", "default/public"),
        entry("*.shop.test", "default/shop"),
        entry("gw.test", "default/gw", gatewayAddress, { source: "gateway", via: ["HTTPRoute default/r"] }),
      ],
      unmapped: [
        { host: "lost.test", source: "ingress", object: "default/lost", wildcard: false, reason: "no controller" },
      ],
    };
    const outcome = (host: string, wildcard: boolean) =>
      wildcard
        ? { mapped: false as const, reason: "wildcard (needs the DNS responder)" }
        : host === "github.com"
          ? { mapped: false as const, reason: "public name" }
          : { mapped: true as const };
    const { ingresses, gateways } = ingressStatuses(names, route, outcome);
    expect(ingresses).toEqual([
      {
        host: "*.shop.test",
        object: "default/shop",
        address: "192.168.49.2",
        ports: addonAddress.ports,
        mapped: false,
        reason: "wildcard (needs the DNS responder)",
        wildcard: true,
      },
      {
        host: "github.com",
        object: "default/public",
        address: "192.168.49.2",
        ports: addonAddress.ports,
        mapped: false,
        reason: "public name",
      },
      { host: "lost.test", object: "default/lost", address: null, ports: [], mapped: false, reason: "no controller" },
      {
        host: "shop.test",
        object: "default/later",
        address: "10.96.5.5",
        ports: [{ port: 80, protocol: "http" }],
        mapped: false,
        reason: "shop.test goes to ingress default/shop, the oldest",
      },
      { host: "shop.test", object: "default/shop", address: "192.168.49.2", ports: addonAddress.ports, mapped: true },
    ]);
    expect(gateways).toEqual([
      {
        host: "gw.test",
        object: "default/gw",
        address: "10.96.5.5",
        ports: [{ port: 80, protocol: "http" }],
        mapped: true,
        via: ["HTTPRoute default/r"],
      },
    ]);
    expect(curlResolveLine(ingresses[1]!)).toBe("curl --resolve github.com:80:192.168.49.2 http://github.com/");
    expect(curlResolveLine(ingresses[0]!)).toBeNull();
    expect(curlResolveLine(ingresses[2]!)).toBeNull();
    expect(curlResolveLine({ host: "tls.test", address: "fd00::5", ports: [{ port: 8443, protocol: "tls" }] })).toBe(
      "curl --resolve tls.test:8443:[fd00::5] https://tls.test:8443/",
    );
  });

  it("a single-label host is never asked for: it is shown with why", () => {
    const names: IngressNames = { entries: [entry("intranet", "default/i")], unmapped: [] };
    expect(ingressRequest(names, route).hosts).toEqual([]);
    expect(ingressStatuses(names, route, () => ({ mapped: true })).ingresses[0]).toMatchObject({
      mapped: false,
      reason: "a single label; the hosts file holds only names of two or more",
    });
  });
});
