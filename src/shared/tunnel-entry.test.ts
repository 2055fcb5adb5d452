import { describe, expect, it } from "vitest";
import { parseCidr } from "./cidr.js";
import { OWNER_ID, decodeMask, entryFromJson, entryToJson, tunnelsFileSchema } from "./tunnel-entry.js";

/** Exactly what minikube's tunnel registry writes (Go encoding of net.IP and net.IPMask). */
const MINIKUBE_ENTRY = `{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.96.0.0","Mask":"//AAAA=="},"ClusterDomain":"cluster.local","ClusterDNSIP":"10.96.0.10"},"MachineName":"minikube","Pid":4242}`;

describe("tunnels.json entries", () => {
  it("reads minikube's own entry", () => {
    const [json] = tunnelsFileSchema.parse(JSON.parse(`[${MINIKUBE_ENTRY}]`)) ?? [];
    const entry = entryFromJson(json!);
    expect(entry.destination.text).toBe("10.96.0.0/12");
    expect(entry).toMatchObject({
      gateway: "192.168.49.2",
      profile: "minikube",
      pid: 4242,
      clusterDnsIp: "10.96.0.10",
    });
    expect(entry.owner).toBeUndefined();
  });

  it("writes entries minikube can read: same fields, plus extra ones it ignores", () => {
    const json = entryToJson({
      destination: parseCidr("10.96.0.0/12"),
      gateway: "192.168.49.2",
      profile: "minikube",
      pid: 4242,
      pidStartTime: "123",
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    const mine = JSON.parse(JSON.stringify(json));
    const theirs = JSON.parse(MINIKUBE_ENTRY);
    expect(mine.Route).toEqual(theirs.Route);
    expect(mine.MachineName).toBe(theirs.MachineName);
    expect(mine.Pid).toBe(theirs.Pid);
    expect(mine.Owner).toBe(OWNER_ID);
  });

  it("encodes IPv6 masks as 16 bytes", () => {
    const json = entryToJson({
      destination: parseCidr("fd00:10:96::/112"),
      gateway: "fd00:49::2",
      profile: "p",
      pid: 1,
      clusterDomain: "",
      clusterDnsIp: "",
      createdAt: "",
    });
    expect(atob(json.Route.DestCIDR.Mask)).toHaveLength(16);
    expect(decodeMask(json.Route.DestCIDR.Mask, 6)).toBe(112);
    expect(entryFromJson(json).destination.text).toBe("fd00:10:96::/112");
  });

  it("keeps unknown fields", () => {
    const parsed = tunnelsFileSchema.parse([{ ...JSON.parse(MINIKUBE_ENTRY), Future: { x: 1 } }]);
    expect(JSON.parse(JSON.stringify(parsed))[0].Future).toEqual({ x: 1 });
  });

  it("accepts null (Go's nil slice) as empty", () => {
    expect(tunnelsFileSchema.parse(null)).toBeNull();
  });

  it("rejects masks of the wrong length", () => {
    expect(() => decodeMask("AAA=")).toThrow("expected 4 or 16");
  });

  it("reads a 16-byte mask on an IPv4 address as Go does: the IPv4 prefix (96 leading ones)", () => {
    // Go's net.CIDRMask(12+96, 128) on an IPv4 route: what a Go writer may marshal.
    const mask16 = btoa(String.fromCharCode(...Array(12).fill(0xff), 0xff, 0xf0, 0, 0));
    const entry = entryFromJson({
      ...JSON.parse(MINIKUBE_ENTRY),
      Route: { Gateway: "192.168.49.2", DestCIDR: { IP: "10.96.0.0", Mask: mask16 } },
    });
    expect(entry.destination.text).toBe("10.96.0.0/12");
    expect(() => decodeMask(btoa(String.fromCharCode(...Array(16).fill(0))), 4)).toThrow(
      "not an IPv4 mask in IPv6 form",
    );
  });
});
