import { describe, expect, it } from "vitest";
import { parseCidr } from "../../../shared/cidr.js";
import { manualRemovalCommand } from "./manual-removal.js";

const route = (destination: string, gateway: string | null, iface: string | null) => ({
  destination: parseCidr(destination),
  gateway,
  interface: iface,
});

describe("manual removal command for a conflicting route", () => {
  it("Linux: ip route del with the gateway and device that identify the route", () => {
    expect(manualRemovalCommand(route("10.96.0.0/16", "192.168.49.7", "br-1"), "linux")).toBe(
      "sudo ip route del 10.96.0.0/16 via 192.168.49.7 dev br-1",
    );
    expect(manualRemovalCommand(route("10.96.0.0/16", null, "docker0"), "linux")).toBe(
      "sudo ip route del 10.96.0.0/16 dev docker0",
    );
    expect(manualRemovalCommand(route("fd00:10::/64", "fd00:49::7", "eth0"), "linux")).toBe(
      "sudo ip -6 route del fd00:10::/64 via fd00:49::7 dev eth0",
    );
  });

  it("macOS: route -n delete, leaving out link# gateways that route(8) cannot take", () => {
    expect(manualRemovalCommand(route("10.96.0.0/16", "192.168.64.9", "bridge100"), "darwin")).toBe(
      "sudo route -n delete 10.96.0.0/16 192.168.64.9",
    );
    expect(manualRemovalCommand(route("10.96.0.0/16", "link#14", "bridge100"), "darwin")).toBe(
      "sudo route -n delete 10.96.0.0/16",
    );
    expect(manualRemovalCommand(route("fd00:10::/64", "fd00:49::7", "en0"), "darwin")).toBe(
      "sudo route -n delete -inet6 fd00:10::/64 fd00:49::7",
    );
  });

  it("Windows: route DELETE with MASK, as the adapter itself would", () => {
    expect(manualRemovalCommand(route("10.96.0.0/16", "172.17.0.2", "172.17.0.1"), "win32")).toBe(
      "route DELETE 10.96.0.0 MASK 255.255.0.0 172.17.0.2",
    );
    expect(manualRemovalCommand(route("10.96.0.0/16", null, "172.17.0.1"), "win32")).toBe(
      "route DELETE 10.96.0.0 MASK 255.255.0.0",
    );
  });
});
