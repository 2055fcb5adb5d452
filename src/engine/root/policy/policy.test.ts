import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCidr } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { NO_ALLOWANCES } from "./allowances.js";
import { checkClusterDomain, hostNameRefusal, isPublicName } from "./name-policy.js";
import { checkRouteCidr, pathRefusal } from "./route-policy.js";
import { isTunnelLink } from "./vpn-links.js";
import { isVirtualLink } from "./node-links.js";
import { hostAddressRefusal, hostAddresses } from "./host-addresses.js";
import { readResolverSettings } from "./resolv-conf.js";

const route = (dst: string, gateway: string | null, iface: string | null): KernelRoute => ({
  destination: parseCidr(dst, { allowHostBits: true }),
  gateway,
  interface: iface,
});

describe('the root policy\'s fixed rules (docs/security.md, "The root policy")', () => {
  it.each(["10.96.0.0/12", "172.17.0.0/16", "192.168.49.0/24", "100.64.0.0/10", "fd00:10:96::/112"])(
    "routes %s: a private network",
    (cidr) => {
      expect(checkRouteCidr(parseCidr(cidr), NO_ALLOWANCES).text).toBe(parseCidr(cidr).text);
    },
  );

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
    const table = [
      route("0.0.0.0/0", "192.168.1.1", "en0"),
      route("192.168.1.0/24", "link#4", "en0"),
      route("10.8.0.0/24", null, "utun4"),
      route("192.168.49.0/24", null, "bridge100"),
      route("0.0.0.0/1", "10.8.0.1", "utun4"),
    ];
    expect(await pathRefusal("192.168.1.1", table, { platform: "darwin" })).toBe(
      "192.168.1.1 is this machine's default gateway, not a cluster node",
    );
    expect(await pathRefusal("10.8.0.1", table, { platform: "darwin" })).toBe(
      "10.8.0.1 is this machine's default gateway, not a cluster node",
    );
    expect(await pathRefusal("10.8.0.7", table, { platform: "darwin" })).toBe(
      "10.8.0.7 is reached over utun4, a VPN or tunnel link",
    );
    expect(await pathRefusal("192.168.49.2", table, { platform: "darwin" })).toBeNull();
    expect(
      await pathRefusal("192.168.49.2", table, {
        via: route("10.200.0.0/16", "192.168.49.2", "wg0"),
        platform: "darwin",
      }),
    ).toBe("192.168.49.2 is reached over wg0, a VPN or tunnel link");
  });

  it.each(["tun0", "utun3", "wg0", "tailscale0", "ppp0", "ipsec0", "zt5u4y6abc", "gpd0", "cscotun0", "nordlynx"])(
    "%s is a VPN link by its name",
    async (name) => {
      expect(await isTunnelLink(name, "darwin")).toBe(true);
    },
  );

  it.each(["eth0", "en0", "br-3f2a", "bridge100", "vboxnet0", "virbr1", "docker0", "vEthernet (WSL)"])(
    "%s is not",
    async (name) => {
      expect(await isTunnelLink(name, "darwin")).toBe(false);
    },
  );
});

describe("where a node may be", () => {
  let sys: string;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-links-"));
    // sysfs as Linux documents it: a NIC backed by hardware (virtio in a VM too) links its `device`; bridges and veths
    // have none.
    sys = join(dir, "class", "net");
    for (const name of ["eth0", "br-3f2a", "veth1", "virbr1", "docker0", "br0", "vnet0", "eth0.10", "bond0", "eth1"])
      await mkdir(join(sys, name), { recursive: true });
    await mkdir(join(dir, "devices", "virtio2"), { recursive: true });
    await symlink(join(dir, "devices", "virtio2"), join(sys, "eth0", "device"));
    await symlink(join(dir, "devices", "virtio2"), join(sys, "eth1", "device"));
    // A KVM host's br0 with the NIC as a port (and a VM's tap); docker0 with a veth; a VLAN on eth0; a bond of eth1.
    await mkdir(join(sys, "br0", "brif", "eth0"), { recursive: true });
    await mkdir(join(sys, "br0", "brif", "vnet0"), { recursive: true });
    await mkdir(join(sys, "docker0", "brif", "veth1"), { recursive: true });
    await symlink(join(sys, "eth0"), join(sys, "eth0.10", "lower_eth0"));
    await symlink(join(sys, "eth1"), join(sys, "bond0", "lower_eth1"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("Linux: a link with a device is physical, a bridge of veths or taps, or a veth, is virtual", async () => {
    expect(await isVirtualLink("eth0", "linux", sys)).toBe(false);
    for (const name of ["br-3f2a", "veth1", "virbr1", "docker0", "vnet0"])
      expect(await isVirtualLink(name, "linux", sys)).toBe(true);
  });

  it("Linux: a bridge with the NIC as a port, a VLAN or a bond over a NIC is the LAN, not a node's network", async () => {
    for (const name of ["br0", "eth0.10", "bond0"]) expect(await isVirtualLink(name, "linux", sys)).toBe(false);
  });

  it.each([
    ["bridge100", true],
    ["bridge0", false],
    ["vmenet0", true],
    ["vboxnet0", true],
    ["vnic0", true],
    ["en0", false],
    ["en7", false],
    ["awdl0", false],
  ])("macOS: %s virtual: %s", async (name, virtual) => {
    expect(await isVirtualLink(name, "darwin")).toBe(virtual);
  });

  it("a node reached over a physical link is refused unless the administrator allowed its network; one the machine does not reach directly is refused", async () => {
    const table = [
      route("192.168.1.0/24", null, "eth0"),
      route("192.168.49.0/24", null, "br-3f2a"),
      route("0.0.0.0/0", "192.168.1.1", "eth0"),
    ];
    expect(await pathRefusal("192.168.1.50", table, { platform: "linux", sys })).toMatch(
      /reached over eth0, a physical network link/,
    );
    expect(
      await pathRefusal("192.168.1.50", table, {
        platform: "linux",
        sys,
        allowances: { cidrs: ["192.168.1.0/24"], domains: [] },
      }),
    ).toBeNull();
    expect(await pathRefusal("192.168.49.2", table, { platform: "linux", sys })).toBeNull();
    expect(await pathRefusal("172.31.9.9", table, { platform: "linux", sys })).toMatch(/not on a link of this machine/);
  });
});

describe("this machine's own addresses", () => {
  it("reads resolv.conf, and behind systemd-resolved's stub its upstream servers", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mkt-resolv-"));
    try {
      // As systemd-resolved writes them (Debian 12): the stub file, and the upstream list.
      await writeFile(
        join(dir, "stub"),
        "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch corp.example\n",
      );
      await writeFile(
        join(dir, "upstream"),
        "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\nnameserver 10.20.0.2\nnameserver fe80::1%eth0\n",
      );
      expect(await readResolverSettings("linux", join(dir, "stub"), join(dir, "upstream"))).toEqual({
        nameservers: ["127.0.0.53", "10.20.0.2", "fe80::1"],
        search: ["corp.example"],
      });
      expect(await readResolverSettings("linux", join(dir, "upstream"), join(dir, "missing"))).toEqual({
        nameservers: ["10.20.0.2", "fe80::1"],
        search: [],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a network holding one of them is refused, naming it", async () => {
    const host = await hostAddresses([route("0.0.0.0/0", "10.30.0.1", "eth0")], Promise.resolve(["10.20.0.2"]));
    expect(hostAddressRefusal(parseCidr("10.20.0.0/16"), host)).toBe(
      "10.20.0.0/16 contains 10.20.0.2, this machine's DNS server",
    );
    expect(hostAddressRefusal(parseCidr("10.30.0.0/24"), host)).toBe(
      "10.30.0.0/24 contains 10.30.0.1, this machine's default gateway",
    );
    expect(hostAddressRefusal(parseCidr("10.96.0.0/12"), host)).toBeNull();
  });
});

describe("names root writes", () => {
  it.each(["cluster.local", "k8s.test", "x.internal", "lab.home.arpa", "corp.lan", "svc.k8s"])(
    "%s is a private domain",
    (domain) => {
      expect(checkClusterDomain(domain, NO_ALLOWANCES)).toBe(domain);
    },
  );

  it.each(["com", "github.com", "co.uk", "io", "api.x.svc.github.com", "x.dev", "arpa", "in-addr.arpa"])(
    "%s is in the public DNS",
    (domain) => {
      expect(() => checkClusterDomain(domain, NO_ALLOWANCES)).toThrow(/is in the public DNS/);
    },
  );

  it.each([
    ["local", /whole top-level domain/],
    ["lan", /whole top-level domain/],
    ["internal", /whole top-level domain/],
    ["home.arpa", /would take the lookups of home\.arpa/],
    ["google.internal", /would take the lookups of google\.internal, a domain this machine's own software looks up/],
    ["compute.internal", /would take the lookups of compute\.internal/],
  ])("cluster domain %s would take lookups this machine makes itself: refused", (domain, why) => {
    expect(() => checkClusterDomain(domain, NO_ALLOWANCES)).toThrow(why);
  });

  it("a cluster domain equal to, or above, one of this machine's search domains is refused; one below it is the cluster's own", () => {
    const machine = { search: ["corp.lan", "eng.example.internal"] };
    expect(() => checkClusterDomain("corp.lan", NO_ALLOWANCES, machine)).toThrow(
      /would take the lookups of corp\.lan, one of this machine's search domains/,
    );
    expect(() => checkClusterDomain("example.internal", NO_ALLOWANCES, machine)).toThrow(/eng\.example\.internal/);
    expect(checkClusterDomain("k8s.corp.lan", NO_ALLOWANCES, machine)).toBe("k8s.corp.lan");
    expect(checkClusterDomain("corp.lan", { cidrs: [], domains: ["corp.lan"] }, machine)).toBe("corp.lan");
  });

  it("hosts names clients look up to configure themselves (WPAD, ISATAP), or under a search domain, are dropped", () => {
    const machine = { search: ["acme", "lab.dept"] };
    const names = [
      "wpad.default",
      "isatap.acme",
      "isatap.default.svc.cluster.local",
      "mail.acme",
      "lab.dept",
      "db.lab",
      "web.default",
    ];
    expect(names.map((n) => hostNameRefusal(n, "cluster.local", NO_ALLOWANCES, machine))).toEqual([
      "wpad is looked up by clients to configure themselves (proxy, tunnel)",
      "isatap is looked up by clients to configure themselves (proxy, tunnel)",
      "isatap is looked up by clients to configure themselves (proxy, tunnel)",
      "would answer for a name under this machine's search domain acme",
      "would answer for a name under this machine's search domain lab.dept",
      null,
      null,
    ]);
  });

  it.each([
    "printer.local",
    "vm.local",
    "router.lan",
    "nas.home",
    "fileserver.corp",
    "db.localdomain",
    "web.test",
    "x.internal",
  ])("%s (a Service in a namespace named after a name the local network uses) is never written", (name) => {
    expect(hostNameRefusal(name, "cluster.local", NO_ALLOWANCES)).toMatch(/that this machine's own network uses/);
  });

  it("an allowed company domain is accepted, nothing around it", () => {
    const allow = { cidrs: [], domains: ["k8s.example.com"] };
    expect(isPublicName("api.k8s.example.com", allow)).toBe(false);
    expect(isPublicName("example.com", allow)).toBe(true);
    expect(isPublicName("evilk8s.example.com", allow)).toBe(true);
  });

  it("hosts names: the cluster's own full names, and short ones that are not public", () => {
    const names = [
      "web.default.svc.cluster.local",
      "web.default",
      "twitch.tv",
      "twitch.tv.svc.cluster.local",
      "web.default.svc.example.com",
      "a.b.c",
      "github.com",
    ];
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
