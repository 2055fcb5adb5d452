import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeKernelRoute } from "../../../shared/routes.js";
import { expandNetstatDestination, parseNetstatRoutes } from "./route-table-darwin.js";
import { parseBatchErrors, parseIpJsonRoutes } from "./route-table-linux.js";
import { vpnBypassNote } from "./conflicts.js";
import { parseRoutePrint } from "./route-table-windows.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

describe("Linux ip -j route", () => {
  it("parses IPv4 output captured from a lab namespace", () => {
    const routes = parseIpJsonRoutes(fixture("linux-ip-j-route-4.json"), 4);
    expect(routes.map(describeKernelRoute)).toEqual([
      "0.0.0.0/0 via 192.168.49.254 dev vh0",
      "10.0.0.0/8",
      "10.96.0.0/12 via 192.168.49.2 dev vh0",
      "10.200.0.5/32 dev vh0",
      "10.244.0.0/24 via 192.168.49.2 dev vh0",
      "192.168.49.0/24 dev vh0",
    ]);
    expect(routes[1]?.type).toBe("unreachable");
  });

  it("parses IPv6 output", () => {
    const routes = parseIpJsonRoutes(fixture("linux-ip-j-route-6.json"), 6);
    expect(routes.map(describeKernelRoute)).toEqual([
      "fd00:10:96::/112 via fd00:49::2 dev vh0",
      "fd00:49::/64 dev vh0",
      "fe80::/64 dev vh0",
    ]);
  });

  it("reads a multipath route's gateways and devices from its nexthops, one row each (captured in a lab namespace)", () => {
    expect(parseIpJsonRoutes(fixture("linux-ip-j-route-multipath.json"), 4).map(describeKernelRoute)).toEqual([
      "0.0.0.0/0 via 192.168.10.1 dev mkta0",
      "10.0.0.0/8 via 192.168.10.1 dev mkta0",
      "10.0.0.0/8 via 192.168.20.1 dev mkta1",
      "192.168.10.0/24 dev mkta0",
      "192.168.20.0/24 dev mkta1",
    ]);
  });

  it("treats empty output as an empty table", () => {
    expect(parseIpJsonRoutes("", 6)).toEqual([]);
  });

  it("maps `ip -force -batch -` failures to their lines (stderr captured from iproute2 6.1 in a lab namespace)", () => {
    expect([...parseBatchErrors(fixture("linux-ip-batch-errors.txt"))]).toEqual([
      [2, "Error: Nexthop has invalid gateway."],
      [4, "RTNETLINK answers: No route to host"],
      [5, "RTNETLINK answers: No such process"],
    ]);
  });
});

describe("macOS netstat -nr", () => {
  it.each([
    ["10.96/12", "10.96.0.0/12"],
    ["127", "127.0.0.0/8"],
    ["169.254", "169.254.0.0/16"],
    ["192.168.43", "192.168.43.0/24"],
    ["192.168.1.1", "192.168.1.1/32"],
    ["224.0.0/4", "224.0.0.0/4"],
    ["default", "0.0.0.0/0"],
  ])("expands shorthand %s to %s", (text, cidr) => {
    expect(expandNetstatDestination(text, 4).text).toBe(cidr);
  });

  it("reads a macOS 15 Sequoia table with Tailscale on utun4 and Parallels on bridge100/101, keeping link#N and interfaces", () => {
    const routes = parseNetstatRoutes(fixture("darwin-sequoia-netstat-inet.txt"), 4).map(describeKernelRoute);
    expect(routes).toHaveLength(47);
    expect(routes).toEqual(
      expect.arrayContaining([
        "0.0.0.0/0 via 192.168.68.1 dev en1",
        "0.0.0.0/0 via link#38 dev bridge100",
        "10.211.55.0/24 via link#38 dev bridge100",
        "10.37.129.0/24 via link#40 dev bridge101",
        "100.64.0.0/10 via link#32 dev utun4",
        "127.0.0.0/8 via 127.0.0.1 dev lo0",
        "192.168.68.0/22 via link#24 dev en1",
        "224.0.0.0/4 via link#32 dev utun4",
      ]),
    );
  });

  it("reads its IPv6 half without losing the rows after `fdb2:2c26:f4e4::` (a destination that ends in a colon)", () => {
    const routes = parseNetstatRoutes(fixture("darwin-sequoia-netstat-inet6.txt"), 6);
    expect(routes).toHaveLength(91);
    const described = routes.map(describeKernelRoute);
    expect(described).toEqual(
      expect.arrayContaining([
        "::/0 via fd7a:115c:a1e0:: dev utun4",
        "fd7a:115c:a1e0::/48 via fe80::1e1d:d3ff:fee0:fcfc dev utun4",
        "fdb2:2c26:f4e4::/64 via link#38 dev bridge100",
        "fdb2:2c26:f4e4::/128 via link#38 dev bridge100",
        "fdb2:2c26:f4e4:1::/64 via link#40 dev bridge101",
        "ff02::/32 via link#40 dev bridge101",
      ]),
    );
    // The last row of the table is there: nothing after the `::` row was dropped.
    expect(described.at(-1)).toBe("ff02::/32 via link#40 dev bridge101");
  });

  it("reads one section of a full `netstat -rn` per family", () => {
    const text = fixture("darwin-netstat-rn-utun.txt");
    expect(parseNetstatRoutes(text, 4).map(describeKernelRoute)).toContain("192.168.64.0/24 via link#5 dev en0");
    expect(parseNetstatRoutes(text, 4)).toHaveLength(11);
    expect(parseNetstatRoutes(text, 6)).toHaveLength(29);
    expect(parseNetstatRoutes(text, 6).map(describeKernelRoute)).toContain(
      "fe80::/64 via fe80::21c1:53b6:e09d:8ea1 dev utun0",
    );
  });

  it.each([
    ["darwin-netstat-inet6-teleport-vnet.txt", 6, 11, "fd6f:74a0:9a49::/64 via fe80::2e0:4cff:fe3c:b817 dev utun5"],
    ["darwin-netstat-inet6-apple-silicon-lima.txt", 6, 12, "fe80::/64 via link#4 dev anpi1"],
    ["darwin-netstat-inet-docker-for-mac.txt", 4, 15, "192.168.64.0/24 via link#12 dev bridge1"],
    ["darwin-netstat-inet-vmware.txt", 4, 15, "172.16.111.0/24 via link#11 dev vmnet1"],
    ["darwin-netstat-wg-quick.txt", 4, 2, "0.0.0.0/1 via utun0 dev utun0"],
    ["darwin-netstat-inet6-full-tunnel-vpn.txt", 6, 11, "::/1 via link#18 dev utun4"],
  ] as const)("reads %s", (name, family, count, row) => {
    const routes = parseNetstatRoutes(fixture(name), family).map(describeKernelRoute);
    expect(routes).toHaveLength(count);
    expect(routes).toContain(row);
  });

  it("skips and reports rows it cannot read (BSD's `::ffff:0.0.0.0/96`) instead of failing the table", () => {
    const skipped: string[] = [];
    const routes = parseNetstatRoutes(fixture("freebsd-netstat-inet6.txt"), 6, (line) => skipped.push(line));
    expect(skipped).toEqual([expect.stringMatching(/^::ffff:0\.0\.0\.0\/96\s/)]);
    expect(routes.map((r) => r.destination.text)).toEqual([
      "::/96",
      "::1/128",
      "fe80::/10",
      "fe80::/64",
      "fe80::1/128",
      "fe80::/64",
      "fe80::8db:f4ff:fe5b:2fd3/128",
      "ff02::/16",
    ]);
  });
});

describe("Windows route print", () => {
  it.each([
    [
      "windows-route-print-en-wsl2-hyperv.txt",
      6,
      ["0.0.0.0/0 via 192.168.0.1 dev 192.168.0.18", "172.22.32.0/20 dev 172.22.32.1"],
    ],
    ["windows-route-print-en-win7.txt", 5, ["0.0.0.0/0 via 10.0.0.1 dev 10.0.0.40", "10.0.0.0/24 dev 10.0.0.40"]],
    ["windows-route-print-en-anyconnect.txt", 2, ["0.0.0.0/0 via 10.21.38.1 dev 10.21.38.97"]],
    ["windows-route-print-fr.txt", 1, ["0.0.0.0/0 via 10.88.88.2 dev 10.88.88.149"]],
    ["windows-route-print-es.txt", 2, ["0.0.0.0/0 via 192.168.100.1 dev 192.168.100.80", "0.0.0.0/2 dev 123.45.0.10"]],
    ["windows-route-print-zh-cn.txt", 11, ["0.0.0.0/0 dev 39.183.173.41", "172.22.0.0/18 dev 172.22.30.182"]],
  ] as const)("reads %s by the shape of its rows, whatever the language", (name, count, rows) => {
    const routes = parseRoutePrint(fixture(name), 4).map(describeKernelRoute);
    expect(routes).toHaveLength(count);
    expect(routes).toEqual(expect.arrayContaining([...rows]));
  });

  it("keeps rows whose Interface is a hexadecimal adapter index (a TUN adapter without an IPv4 address), so the full-tunnel VPN is seen", () => {
    const routes = parseRoutePrint(fixture("windows-route-print-zh-cn-tun.txt"), 4);
    expect(routes.map(describeKernelRoute)).toEqual(
      expect.arrayContaining([
        "0.0.0.0/1 via 198.18.0.2 dev 0x2e",
        "128.0.0.0/1 via 198.18.0.2 dev 0x2e",
        "192.168.6.0/24 dev 192.168.6.6",
      ]),
    );
    expect(routes).toHaveLength(11);
    expect(vpnBypassNote(routes)).toMatch(/^a full-tunnel VPN is up \(0\.0\.0\.0\/1, 128\.0\.0\.0\/1 via 0x2e\)/);
  });

  it("reads an empty IPv6 table (localised 'None') as empty, and ignores the IPv4 rows", () => {
    expect(parseRoutePrint(fixture("windows-route-print-es.txt"), 6)).toEqual([]);
    expect(parseRoutePrint(fixture("windows-route-print-en-anyconnect.txt"), 6)).toEqual([]);
  });
});
