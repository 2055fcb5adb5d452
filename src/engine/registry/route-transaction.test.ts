import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { labUnavailableReason, NetnsLab } from "../../../test-support/netns-lab.js";
import { parseCidr } from "../../shared/cidr.js";
import { entryToJson } from "../../shared/tunnel-entry.js";
import { LinuxRouteTable } from "../routes/linux-routes.js";
import { RegistryFile } from "./registry-file.js";
import { RollbackError, RouteRegistrar } from "./route-transaction.js";
import { cleanupStaleTunnels } from "./stale-cleanup.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: route transactions on the real kernel: ${skip}`);

describe.skipIf(skip !== null)("route + registry transactions on the real kernel (network namespaces)", () => {
  let lab: NetnsLab;
  let dir: string;
  let table: LinuxRouteTable;
  const svc = parseCidr("10.96.0.0/12");
  const request = { destination: svc, gateway: "192.168.49.2", profile: "minikube", clusterDomain: "cluster.local", clusterDnsIp: "10.96.0.10" };

  beforeEach(async () => {
    lab = await NetnsLab.create();
    dir = await mkdtemp(join(tmpdir(), "mkt-tx-"));
    table = new LinuxRouteTable(lab.hostRunner());
  });
  afterEach(async () => {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("adds route and entry together, and removes them together", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    const registrar = new RouteRegistrar(table, registry, { pid: process.pid });
    expect(await registrar.add(request)).toEqual({ kind: "added" });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect((await registry.read()).map((e) => e.destination.text)).toEqual(["10.96.0.0/12"]);
    expect(await registrar.add(request)).toEqual({ kind: "already-active" });
    expect(await registrar.remove(svc, "192.168.49.2", "minikube")).toBe("removed");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(await registry.read()).toEqual([]);
  });

  it("route added but entry not written → the route is removed again", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"), { write: async () => { throw new Error("disk full (injected)"); } });
    const registrar = new RouteRegistrar(table, registry, { pid: process.pid });
    const error = await registrar.add(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollbackError);
    expect((error as Error).message).toContain("(disk full (injected)); the route was removed again");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });

  it("route removed but entry not removed → the route is restored", async () => {
    const good = new RegistryFile(join(dir, "tunnels.json"));
    await new RouteRegistrar(table, good, { pid: process.pid }).add(request);
    const before = await readFile(good.path, "utf8");
    const failing = new RegistryFile(good.path, { write: async () => { throw new Error("EIO (injected)"); } });
    const error = await new RouteRegistrar(table, failing, { pid: process.pid }).remove(svc, "192.168.49.2", "minikube").catch((e: unknown) => e);
    expect((error as Error).message).toContain("(EIO (injected)); the route was restored");
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await readFile(good.path, "utf8")).toBe(before);
  });

  it("a route the kernel refuses leaves the registry untouched", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    const registrar = new RouteRegistrar(table, registry, { pid: process.pid });
    await expect(registrar.add({ ...request, gateway: "10.1.2.3" })).rejects.toThrow(/route add 10\.96\.0\.0\/12 via 10\.1\.2\.3 failed/);
    expect(await registry.read()).toEqual([]);
  });

  it("a conflicting route is reported, not added, and the user's route is untouched", async () => {
    await lab.addHostRoute("10.96.0.0/16", "dev", "mkt0");
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    const outcome = await new RouteRegistrar(table, registry, { pid: process.pid }).add(request);
    expect(outcome).toMatchObject({ kind: "conflict", conflict: { existing: { destination: "10.96.0.0/16", gateway: null, interface: "mkt0" } } });
    const routes = await lab.hostRoutes();
    expect(routes).toContain("10.96.0.0/16 dev mkt0");
    expect(routes).not.toContain("10.96.0.0/12");
    expect(await registry.read()).toEqual([]);
  });

  it("cleanup removes dead tunnels' routes and entries (ours and minikube's), keeps live ones, and reports failures without stopping", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    await lab.addHostRoute("10.96.0.0/12", "via", "192.168.49.2");
    await lab.addHostRoute("10.244.0.0/24", "via", "192.168.49.2");
    const dead = 2 ** 22 + 12345; // above pid_max's default, so never a live process
    const minikubeEntry = JSON.parse(`{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.96.0.0","Mask":"//AAAA=="},"ClusterDomain":"cluster.local","ClusterDNSIP":"10.96.0.10"},"MachineName":"minikube","Pid":${dead}}`);
    const ourDead = entryToJson({ ...request, destination: parseCidr("10.244.0.0/24"), pid: dead, createdAt: "x" });
    const goneAlready = entryToJson({ ...request, destination: parseCidr("10.245.0.0/24"), pid: dead, createdAt: "x" });
    const live = entryToJson({ ...request, destination: parseCidr("10.250.0.0/24"), pid: process.pid, createdAt: "x" });
    await writeFile(registry.path, JSON.stringify([minikubeEntry, ourDead, goneAlready, live]));
    const report = await cleanupStaleTunnels(table, registry);
    expect(report.failures).toEqual([]);
    expect(report.removed.map((r) => `${r.destination}:${r.writer}:${r.routeRemoved}`)).toEqual(["10.96.0.0/12:minikube:true", "10.244.0.0/24:minikube-tunnel:true", "10.245.0.0/24:minikube-tunnel:false"]);
    expect(report.skippedAlive).toBe(1);
    expect(await lab.hostRoutes()).not.toMatch(/10\.96\.0\.0|10\.244\.0\.0/);
    expect((await registry.read()).map((e) => e.destination.text)).toEqual(["10.250.0.0/24"]);
  });

  it("cleanup goes on past a failed route removal and keeps that entry", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    await lab.addHostRoute("10.96.0.0/12", "via", "192.168.49.2");
    await lab.addHostRoute("10.244.0.0/24", "via", "192.168.49.2");
    const dead = 2 ** 22 + 999;
    await writeFile(registry.path, JSON.stringify([entryToJson({ ...request, pid: dead, createdAt: "x" }), entryToJson({ ...request, destination: parseCidr("10.244.0.0/24"), pid: dead, createdAt: "x" })]));
    const flaky = new LinuxRouteTable(lab.hostRunner());
    const original = flaky.remove.bind(flaky);
    flaky.remove = async (cidr, gw) => {
      if (cidr.text === "10.96.0.0/12") throw new Error("permission denied (injected)");
      return original(cidr, gw);
    };
    const report = await cleanupStaleTunnels(flaky, registry);
    expect(report.failures).toEqual([expect.objectContaining({ destination: "10.96.0.0/12", error: "permission denied (injected)" })]);
    expect(report.removed.map((r) => r.destination)).toEqual(["10.244.0.0/24"]);
    expect((await registry.read()).map((e) => e.destination.text)).toEqual(["10.96.0.0/12"]);
  });
});
