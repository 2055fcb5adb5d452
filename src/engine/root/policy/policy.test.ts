import { describe, expect, it } from "vitest";
import { parseCidr } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { NO_ALLOWANCES } from "./allowances.js";
import { checkClusterDomain, hostNameRefusal, isPublicName } from "./name-policy.js";
import { checkRouteCidr, pathRefusal } from "./route-policy.js";
import { isTunnelLink } from "./vpn-links.js";

const route = (dst: string, gateway: string | null, iface: string | null): KernelRoute => ({ destination: parseCidr(dst, { allowHostBits: true }), gateway, interface: iface });

describe("the root policy's fixed rules (docs/security.md, \"The root policy\")", () => {
  it.each(["10.96.0.0/12", "172.17.0.0/16", "192.168.49.0/24", "100.64.0.0/10", "fd00:10:96::/112"])("routes %s: a private network", (cidr) => {
    expect(checkRouteCidr(parseCidr(cidr), NO_ALLOWANCES).text).toBe(parseCidr(cidr).text);
  });

  it.each([
    ["8.0.0.0/8", /not a private network/],
    ["64:ff9b::/96", /not a private network/],
    ["2001:db8::/32", /not a private network/],
    ["0.0.0.0/0", /broader than \/8/],
    ["10.0.0.0/7", /broader than \/8/],
    ["169.254.0.0/16", /overlaps 169\.254\.0\.0\/16/],
    ["fe80::/64", /overlaps fe80::\/10/],
  ])("never routes %s", (cidr, why) => {
    expect(() => checkRouteCidr(parseCidr(cidr), NO_ALLOWANCES)).toThrow(why);
  });

  it("an administrator's allowance (from the root-owned install record) admits a network outside the private ranges, and only that one", () => {
    const allow = { cidrs: ["203.0.113.0/24"], domains: [] };
    expect(checkRouteCidr(parseCidr("203.0.113.0/25"), allow).text).toBe("203.0.113.0/25");
    expect(() => checkRouteCidr(parseCidr("203.0.112.0/23"), allow)).toThrow(/not a private network/);
  });

  it("never routes through the default gateway (or a full-tunnel VPN's), nor over a VPN or tunnel link", async () => {
    const table = [route("0.0.0.0/0", "192.168.1.1", "en0"), route("192.168.1.0/24", "link#4", "en0"), route("10.8.0.0/24", null, "utun4"), route("192.168.49.0/24", null, "bridge100"), route("0.0.0.0/1", "10.8.0.1", "utun4")];
    expect(await pathRefusal("192.168.1.1", table, undefined, "darwin")).toBe("192.168.1.1 is this machine's default gateway, not a cluster node");
    expect(await pathRefusal("10.8.0.1", table, undefined, "darwin")).toBe("10.8.0.1 is this machine's default gateway, not a cluster node");
    expect(await pathRefusal("10.8.0.7", table, undefined, "darwin")).toBe("10.8.0.7 is reached over utun4, a VPN or tunnel link");
    expect(await pathRefusal("192.168.49.2", table, undefined, "darwin")).toBeNull();
    expect(await pathRefusal("192.168.49.2", table, route("10.200.0.0/16", "192.168.49.2", "wg0"), "darwin")).toBe("192.168.49.2 is reached over wg0, a VPN or tunnel link");
  });

  it.each(["tun0", "utun3", "wg0", "tailscale0", "ppp0", "ipsec0", "zt5u4y6abc", "gpd0", "cscotun0", "nordlynx"])("%s is a VPN link by its name", async (name) => {
    expect(await isTunnelLink(name, "darwin")).toBe(true);
  });

  it.each(["eth0", "en0", "br-3f2a", "bridge100", "vboxnet0", "virbr1", "docker0", "vEthernet (WSL)"])("%s is not", async (name) => {
    expect(await isTunnelLink(name, "darwin")).toBe(false);
  });
});

describe("names root writes", () => {
  it.each(["cluster.local", "k8s.test", "x.internal", "lab.home.arpa", "corp.lan", "svc.k8s"])("%s is a private domain", (domain) => {
    expect(checkClusterDomain(domain, NO_ALLOWANCES)).toBe(domain);
  });

  it.each(["com", "github.com", "co.uk", "io", "api.x.svc.github.com", "x.dev", "arpa", "in-addr.arpa"])("%s is in the public DNS", (domain) => {
    expect(() => checkClusterDomain(domain, NO_ALLOWANCES)).toThrow(/is in the public DNS/);
  });

  it("an allowed company domain is accepted, nothing around it", () => {
    const allow = { cidrs: [], domains: ["k8s.example.com"] };
    expect(isPublicName("api.k8s.example.com", allow)).toBe(false);
    expect(isPublicName("example.com", allow)).toBe(true);
    expect(isPublicName("evilk8s.example.com", allow)).toBe(true);
  });

  it("hosts names: the cluster's own full names, and short ones that are not public", () => {
    const names = ["web.default.svc.cluster.local", "web.default", "twitch.tv", "twitch.tv.svc.cluster.local", "web.default.svc.example.com", "a.b.c", "github.com"];
    expect(names.map((n) => hostNameRefusal(n, "cluster.local", NO_ALLOWANCES))).toEqual([
      null,
      null,
      "public name",
      null,
      "not a cluster name (<svc>.<ns>.svc.cluster.local, or <svc>.<ns>)",
      "not a cluster name (<svc>.<ns>.svc.cluster.local, or <svc>.<ns>)",
      "public name",
    ]);
  });
});
