import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeKernelRoute } from "../../shared/routes.js";
import { expandNetstatDestination, parseNetstatRoutes } from "./darwin-routes.js";
import { parseBatchErrors, parseIpJsonRoutes } from "./linux-routes.js";
import { parseRoutePrint } from "./windows-routes.js";

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
    expect(routes.map(describeKernelRoute)).toEqual(["fd00:10:96::/112 via fd00:49::2 dev vh0", "fd00:49::/64 dev vh0", "fe80::/64 dev vh0"]);
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

  it("parses the inet table, keeping link#N gateways and interfaces", () => {
    const routes = parseNetstatRoutes(fixture("darwin-netstat-inet.txt"), 4);
    expect(routes).toHaveLength(16);
    expect(routes.map(describeKernelRoute)).toContain("10.96.0.0/12 via 192.168.64.2 dev bridge100");
    expect(routes.map(describeKernelRoute)).toContain("192.168.43.0/24 via link#21 dev utun4");
    expect(routes.map(describeKernelRoute)).toContain("127.0.0.0/8 via 127.0.0.1 dev lo0");
    expect(routes.find((r) => r.destination.text === "192.168.1.0/24")).toMatchObject({ gateway: "link#6", interface: "en0" });
  });

  it("parses the inet6 table, dropping zone ids", () => {
    const routes = parseNetstatRoutes(fixture("darwin-netstat-inet6.txt"), 6);
    expect(routes.map(describeKernelRoute)).toEqual(
      expect.arrayContaining(["::/0 via fe80:: dev utun0", "fd00:10:96::/112 via fd00:64::2 dev bridge100", "fe80::/64 via fe80::1 dev lo0", "fe80::1/128 via link#1 dev lo0", "ff00::/8 via ::1 dev lo0"]),
    );
    expect(routes).toHaveLength(10);
  });
});

describe("Windows route print", () => {
  it("parses English IPv4 Active Routes and ignores Persistent Routes", () => {
    const routes = parseRoutePrint(fixture("windows-route-print-4-en.txt"), 4);
    expect(routes).toHaveLength(10);
    expect(routes.map(describeKernelRoute)).toContain("10.96.0.0/12 via 172.28.80.10 dev 172.28.80.1");
    expect(routes.find((r) => r.destination.text === "127.0.0.0/8")).toMatchObject({ gateway: null, interface: "127.0.0.1" });
    expect(routes.some((r) => r.destination.text === "10.0.0.0/8")).toBe(false);
  });

  it("parses a German Windows (localised headings and 'Auf Verbindung')", () => {
    const routes = parseRoutePrint(fixture("windows-route-print-4-de.txt"), 4);
    expect(routes.map(describeKernelRoute)).toEqual([
      "0.0.0.0/0 via 192.168.178.1 dev 192.168.178.20",
      "10.96.0.0/12 via 172.28.80.10 dev 172.28.80.1",
      "127.0.0.0/8 dev 127.0.0.1",
      "127.0.0.1/32 dev 127.0.0.1",
      "192.168.178.0/24 dev 192.168.178.20",
    ]);
  });

  it("parses IPv6 routes, including a gateway wrapped onto the next line", () => {
    const routes = parseRoutePrint(fixture("windows-route-print-6-en.txt"), 6);
    expect(routes.map(describeKernelRoute)).toEqual([
      "::/0 via fe80::1 dev if 12",
      "::1/128 dev if 1",
      "fd00:10:96::/112 via fe80::215:5dff:fe38:10a dev if 18",
      "fe80::/64 dev if 18",
      "fe80::9d1c:7b1e:61c1:2f0a/128 dev if 18",
      "ff00::/8 dev if 1",
    ]);
  });
});
