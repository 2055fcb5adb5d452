import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCidr } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { entryFromJson, entryToJson } from "../../../shared/tunnel-entry.js";
import { evaluateRoute, type RegistryView, vpnBypassNote } from "./conflicts.js";
import { parseNetstatRoutes } from "./route-table-darwin.js";

const route = (dst: string, gateway: string | null, iface: string | null = "eth0"): KernelRoute => ({
  destination: parseCidr(dst, { allowHostBits: true }),
  gateway,
  interface: iface,
});
const entry = (dst: string, gw: string, profile: string, pid: number, alive: boolean): RegistryView => ({
  entry: entryFromJson(
    entryToJson({
      destination: parseCidr(dst),
      gateway: gw,
      profile,
      pid,
      clusterDomain: "cluster.local",
      clusterDnsIp: "",
      createdAt: "",
    }),
  ),
  alive,
});
const me = { profile: "minikube", pid: 100 };
const svc = parseCidr("10.96.0.0/12");
const gw = "192.168.49.2";

describe("evaluateRoute", () => {
  it("a live owner wins over a dead entry listed before it: a live tunnel's route is never adopted", () => {
    const table = [route("10.96.0.0/12", gw, "br0")];
    const registry = [entry("10.96.0.0/12", gw, "dev", 4242, false), entry("10.96.0.0/12", gw, "minikube", 200, true)];
    expect(evaluateRoute(svc, gw, table, registry, me)).toMatchObject({
      kind: "conflict",
      conflict: { reason: "owned-by-other-tunnel", owner: { profile: "minikube", pid: 200 } },
    });
    expect(evaluateRoute(svc, gw, table, registry.slice(0, 1), me).kind).toBe("adopt");
  });

  it("adds when nothing overlaps; default routes and unrelated host routes do not count", () => {
    const table = [
      route("0.0.0.0/0", "192.168.1.1"),
      route("192.168.49.0/24", null, "br0"),
      route("10.200.0.5/32", null),
    ];
    expect(evaluateRoute(svc, gw, table, [], me)).toEqual({ kind: "add" });
  });

  it.each([
    [
      "a smaller route inside the request",
      "10.96.0.0/16",
      "10.96.0.0/12 contains the existing route 10.96.0.0/16 via 10.0.0.1 on wg0",
    ],
    [
      "a larger route around the request",
      "10.0.0.0/8",
      "10.96.0.0/12 lies inside the existing route 10.0.0.0/8 via 10.0.0.1 on wg0",
    ],
    ["the same network through another gateway", "10.96.0.0/12", "10.96.0.0/12 is already routed via 10.0.0.1 on wg0"],
    [
      "a host route inside the request",
      "10.100.1.1/32",
      "10.96.0.0/12 contains the existing route 10.100.1.1/32 via 10.0.0.1 on wg0",
    ],
  ])("reports %s as a conflict naming destination, gateway and interface", (_what, dst, message) => {
    const verdict = evaluateRoute(svc, gw, [route(dst, "10.0.0.1", "wg0")], [], me);
    expect(verdict).toMatchObject({
      kind: "conflict",
      conflict: {
        requested: "10.96.0.0/12",
        reason: "overlap",
        existing: { destination: parseCidr(dst).text, gateway: "10.0.0.1", interface: "wg0" },
        message,
      },
    });
  });

  it("IPv6 overlap is a conflict too, and families never mix", () => {
    const v6 = parseCidr("fd00:10:96::/112");
    expect(evaluateRoute(v6, "fd00::2", [route("fd00:10::/32", "fd00::9")], [], me).kind).toBe("conflict");
    expect(evaluateRoute(v6, "fd00::2", [route("10.0.0.0/8", "10.0.0.1")], [], me).kind).toBe("add");
  });

  it("the exact route without a registry entry is reported, not adopted", () => {
    const verdict = evaluateRoute(svc, gw, [route("10.96.0.0/12", gw)], [], me);
    expect(verdict).toMatchObject({ kind: "conflict", conflict: { reason: "unregistered-duplicate" } });
  });

  it("the exact route whose registered owner is dead may be adopted", () => {
    const verdict = evaluateRoute(
      svc,
      gw,
      [route("10.96.0.0/12", gw)],
      [entry("10.96.0.0/12", gw, "minikube", 999, false)],
      me,
    );
    expect(verdict.kind).toBe("adopt");
  });

  it("the exact route of a live tunnel of another profile or process is a conflict with its owner", () => {
    const verdict = evaluateRoute(
      svc,
      gw,
      [route("10.96.0.0/12", gw)],
      [entry("10.96.0.0/12", gw, "other", 100, true)],
      me,
    );
    expect(verdict).toMatchObject({
      kind: "conflict",
      conflict: { reason: "owned-by-other-tunnel", owner: { profile: "other", pid: 100 } },
    });
  });

  it("our own route is recognised as already active", () => {
    expect(
      evaluateRoute(svc, gw, [route("10.96.0.0/12", gw)], [entry("10.96.0.0/12", gw, "minikube", 100, true)], me).kind,
    ).toBe("already-ours");
  });

  it("names the owning profile when another tunnel's route overlaps", () => {
    const verdict = evaluateRoute(
      svc,
      gw,
      [route("10.96.0.0/12", "192.168.58.2")],
      [entry("10.96.0.0/12", "192.168.58.2", "second", 5, true)],
      me,
    );
    expect(verdict).toMatchObject({ kind: "conflict", conflict: { owner: { profile: "second", pid: 5 } } });
    if (verdict.kind === "conflict") expect(verdict.conflict.message).toContain('registered to profile "second"');
  });
});

describe("full-tunnel VPNs (0/1 and 128.0/1, ::/1 and 8000::/1), on real captured tables", () => {
  const captured = (name: string, family: 4 | 6) =>
    parseNetstatRoutes(readFileSync(join(import.meta.dirname, "fixtures", name), "utf8"), family);

  it("wg-quick's 0/1 on macOS is treated like a default route: more specific cluster routes win, so no conflict", () => {
    const table = captured("darwin-netstat-wg-quick.txt", 4);
    expect(table.map((r) => r.destination.text)).toContain("0.0.0.0/1");
    expect(evaluateRoute(svc, gw, table, [], me)).toEqual({ kind: "add" });
    expect(vpnBypassNote(table)).toBe(
      "a full-tunnel VPN is up (0.0.0.0/1 via utun0); the cluster's routes are more specific, so cluster traffic goes to the node directly, not through the VPN",
    );
  });

  it("an IPv6 full tunnel (::/1 on utun4) does not block an IPv6 service network either", () => {
    const table = captured("darwin-netstat-inet6-full-tunnel-vpn.txt", 6);
    expect(evaluateRoute(parseCidr("fd00:10:96::/112"), "fd00:49::2", table, [], me)).toEqual({ kind: "add" });
    expect(vpnBypassNote(table)).toMatch(/^a full-tunnel VPN is up \(::\/1 via utun4\)/);
  });

  it("a table without such halves has no note, and a /2 still counts as a real overlap", () => {
    expect(vpnBypassNote(captured("darwin-sequoia-netstat-inet.txt", 4))).toBeNull();
    expect(evaluateRoute(svc, gw, [route("0.0.0.0/2", null, "10.0.0.9")], [], me).kind).toBe("conflict");
  });
});
