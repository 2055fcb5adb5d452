import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { labUnavailableReason, NetnsLab } from "../../../../test-support/netns-lab.js";
import { parseCidr } from "../../../shared/cidr.js";
import { entryToJson } from "../../../shared/tunnel-entry.js";
import { LinuxRouteTable } from "./route-table-linux.js";
import type { RouteChange, RouteTable } from "./route-table.js";
import { RegistryFile } from "../../registry/registry-file.js";
import { RouteRegistrar } from "./route-transaction.js";
import { cleanupStaleTunnels } from "./stale-cleanup.js";
import { OwnRoutes } from "./own-routes.js";
import { NO_ALLOWANCES } from "../policy/allowances.js";
import { registryAt } from "../../../../test-support/registry-at.js";

const skip = labUnavailableReason();
const run = promisify(execFile);
if (skip) console.log(`skipped: route transactions on the real kernel: ${skip}`);

/** Above pid_max's default, so never a live process. */
const DEAD = 2 ** 22 + 12345;

describe.skipIf(skip !== null)("route + registry transactions on the real kernel (network namespaces)", () => {
  let lab: NetnsLab;
  let dir: string;
  let table: LinuxRouteTable;
  let registry: RegistryFile;
  const svc = parseCidr("10.96.0.0/12");
  const pods = parseCidr("10.244.0.0/24");
  const request = {
    destination: svc,
    gateway: "192.168.49.2",
    profile: "minikube",
    clusterDomain: "cluster.local",
    clusterDnsIp: "10.96.0.10",
  };
  const podRequest = { ...request, destination: pods };
  const ref = (destination = svc) => ({ destination, gateway: "192.168.49.2", profile: "minikube" });
  const inHost = (...args: string[]) => run("ip", ["-n", lab.host, ...args]);
  const entries = async () => (await registry.read()).map((e) => `${e.destination.text}:${e.pid}`);

  beforeEach(async () => {
    lab = await NetnsLab.create();
    dir = await mkdtemp(join(tmpdir(), "mkt-tx-"));
    table = new LinuxRouteTable(lab.hostRunner());
    registry = registryAt(join(dir, "tunnels.json"), { settleMs: 100 });
  });
  afterEach(async () => {
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("adds a batch of routes with their entries, and removes them together", async () => {
    const registrar = new RouteRegistrar(table, registry, { pid: process.pid });
    expect(await registrar.addRoutes([request, podRequest])).toEqual([{ kind: "added" }, { kind: "added" }]);
    expect(await lab.hostRoutes()).toMatch(
      /10\.96\.0\.0\/12 via 192\.168\.49\.2[\s\S]*10\.244\.0\.0\/24 via 192\.168\.49\.2/,
    );
    expect(await entries()).toEqual([`10.96.0.0/12:${process.pid}`, `10.244.0.0/24:${process.pid}`]);
    expect(await registrar.addRoutes([request])).toEqual([{ kind: "already-active" }]);
    expect(await registrar.removeRoutes([ref(), ref(pods)])).toEqual([{ kind: "removed" }, { kind: "removed" }]);
    expect(await lab.hostRoutes()).not.toMatch(/10\.96\.0\.0|10\.244\.0\.0/);
    expect(await registry.read()).toEqual([]);
  });

  it("writes the entry before the route goes into the kernel (a crash between them leaves something cleanup finds)", async () => {
    const seenAtAdd: string[][] = [];
    const watching: RouteTable = {
      list: (family) => table.list(family),
      apply: async (changes: readonly RouteChange[]) => {
        seenAtAdd.push(
          JSON.parse(await readFile(registry.path, "utf8")).map(
            (e: { Route: { DestCIDR: { IP: string } } }) => e.Route.DestCIDR.IP,
          ),
        );
        return table.apply(changes);
      },
    };
    await new RouteRegistrar(watching, registry, { pid: process.pid }).addRoutes([request, podRequest]);
    expect(seenAtAdd).toEqual([["10.96.0.0", "10.244.0.0"]]);
  });

  it("records the route in root's own record before the kernel has it, and forgets it when the kernel refuses it", async () => {
    const record = OwnRoutes.in(dir, { pid: process.pid, started: "" }, "t", 0);
    const recordFile = join(dir, `routes-${process.pid}-t.json`);
    const recordedAtAdd: string[][] = [];
    const watching: RouteTable = {
      list: (family) => table.list(family),
      apply: async (changes: readonly RouteChange[]) => {
        recordedAtAdd.push(
          JSON.parse(await readFile(recordFile, "utf8")).routes.map((r: { destination: string }) => r.destination),
        );
        const done = await table.apply(changes.filter((c) => c.destination.text !== pods.text));
        return changes.map(
          (c) => done.find((d) => d.change === c) ?? { change: c, ok: false, error: "refused (injected)" },
        );
      },
    };
    const registrar = new RouteRegistrar(watching, registry, { pid: process.pid }, record);
    expect(await registrar.addRoutes([request, podRequest])).toEqual([
      { kind: "added" },
      { kind: "failed", error: "refused (injected)" },
    ]);
    expect(recordedAtAdd).toEqual([["10.96.0.0/12", "10.244.0.0/24"]]);
    expect(registrar.heldRoutes().map((r) => r.destination.text)).toEqual(["10.96.0.0/12"]);
  });

  it("a record of root's that names the default route or a public network (planted where root's file is not told from a user's, as on Windows) removes neither; a recorded private route goes", async () => {
    await lab.addHostRoute("default", "via", "192.168.49.254");
    await lab.addHostRoute("8.8.8.0/24", "via", "192.168.49.2");
    await lab.addHostRoute("10.70.0.0/16", "via", "192.168.49.2");
    const ref = (destination: string, gateway: string) => ({
      destination: parseCidr(destination),
      gateway,
      profile: "p",
    });
    const report = await cleanupStaleTunnels(table, registry, {
      allowances: NO_ALLOWANCES,
      operator: false,
      recordedOnly: true,
      recorded: [
        ref("0.0.0.0/0", "192.168.49.254"),
        ref("8.8.8.0/24", "192.168.49.2"),
        ref("10.70.0.0/16", "192.168.49.2"),
      ],
    });
    expect(report.removed.map((r) => r.destination)).toEqual(["10.70.0.0/16"]);
    expect(report.refused?.map((r) => `${r.destination} ${r.error.split(";")[0]}`)).toEqual([
      "0.0.0.0/0 refused: 0.0.0.0/0 is broader than /8: refusing a blanket route",
      expect.stringMatching(/^8\.8\.8\.0\/24 refused: 8\.8\.8\.0\/24 is not a private network/),
    ]);
    const routes = await lab.hostRoutes();
    expect(routes).toContain("default via 192.168.49.254");
    expect(routes).toContain("8.8.8.0/24 via 192.168.49.2");
    expect(routes).not.toContain("10.70.0.0/16");
  });

  it("for root's own operator, cleanup still never removes the default route, a VPN's route or the LAN router's static route for a forged dead entry; a real stale route goes", async () => {
    await inHost("tuntap", "add", "dev", "tunmkt", "mode", "tun");
    await inHost("link", "set", "tunmkt", "up");
    await inHost("addr", "add", "10.8.0.2/24", "dev", "tunmkt");
    await lab.addHostRoute("10.8.0.0/16", "via", "10.8.0.1", "dev", "tunmkt", "onlink");
    await lab.addHostRoute("default", "via", "192.168.49.254");
    await lab.addHostRoute("10.60.0.0/16", "via", "192.168.49.254");
    await lab.addHostRoute("10.70.0.0/16", "via", "192.168.49.2");
    const dead = (destination: string, gateway: string) =>
      entryToJson({ ...request, destination: parseCidr(destination), gateway, pid: DEAD, createdAt: "x" });
    await writeFile(
      registry.path,
      JSON.stringify([
        dead("0.0.0.0/0", "192.168.49.254"),
        dead("10.8.0.0/16", "10.8.0.1"),
        dead("10.60.0.0/16", "192.168.49.254"),
        dead("10.70.0.0/16", "192.168.49.2"),
      ]),
    );
    const report = await cleanupStaleTunnels(table, registry, { allowances: NO_ALLOWANCES, operator: true });
    expect(report.removed.map((r) => r.destination)).toEqual(["10.70.0.0/16"]);
    expect(report.refused?.map((r) => `${r.destination} ${r.error.split(";")[0]}`)).toEqual([
      "0.0.0.0/0 refused: 0.0.0.0/0 is broader than /8: refusing a blanket route",
      "10.8.0.0/16 refused: 10.8.0.1 is reached over tunmkt, a VPN or tunnel link",
      "10.60.0.0/16 refused: 192.168.49.254 is this machine's default gateway, not a cluster node",
    ]);
    const routes = await lab.hostRoutes();
    expect(routes).toContain("default via 192.168.49.254");
    expect(routes).toContain("10.8.0.0/16 via 10.8.0.1 dev tunmkt");
    expect(routes).toContain("10.60.0.0/16 via 192.168.49.254");
    expect(routes).not.toContain("10.70.0.0/16");
  });

  it("a registry that cannot be written: no route goes in", async () => {
    const failing = registryAt(registry.path, {
      write: async () => {
        throw new Error("disk full (injected)");
      },
    });
    await expect(new RouteRegistrar(table, failing, { pid: process.pid }).addRoutes([request])).rejects.toThrow(
      "disk full (injected)",
    );
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });

  it("a route the kernel refuses is reported and its entry is taken out again; the others go in", async () => {
    // The kernel says no to the service range (as it does to a gateway it cannot reach); the pods' route goes in.
    const refusing: RouteTable = {
      list: (family) => table.list(family),
      apply: async (changes) => {
        const done = await table.apply(changes.filter((c) => c.destination.text !== svc.text));
        return changes.map(
          (c) =>
            done.find((d) => d.change === c) ?? {
              change: c,
              ok: false,
              error: "Error: Nexthop has invalid gateway. (injected)",
            },
        );
      },
    };
    const registrar = new RouteRegistrar(refusing, registry, { pid: process.pid });
    const outcomes = await registrar.addRoutes([request, podRequest]);
    expect(outcomes[0]).toEqual({ kind: "failed", error: "Error: Nexthop has invalid gateway. (injected)" });
    expect(outcomes[1]).toEqual({ kind: "added" });
    expect(await entries()).toEqual([`10.244.0.0/24:${process.pid}`]);
    // A gateway this machine does not reach directly never gets that far: the policy refuses it first.
    expect(await registrar.addRoutes([{ ...request, gateway: "10.1.2.3" }])).toEqual([
      {
        kind: "failed",
        error: "refused: 10.1.2.3 is not on a link of this machine: a cluster node is reached directly",
      },
    ]);
  });

  it("a conflicting route is reported, not added, and the user's route is untouched", async () => {
    await lab.addHostRoute("10.96.0.0/16", "dev", "mkt0");
    const [outcome] = await new RouteRegistrar(table, registry, { pid: process.pid }).addRoutes([request]);
    expect(outcome).toMatchObject({
      kind: "conflict",
      conflict: { existing: { destination: "10.96.0.0/16", gateway: null, interface: "mkt0" } },
    });
    const routes = await lab.hostRoutes();
    expect(routes).toContain("10.96.0.0/16 dev mkt0");
    expect(routes).not.toContain("10.96.0.0/12");
    expect(await registry.read()).toEqual([]);
  });

  it("adopting or adding drops dead entries for the same route, so cleanup cannot take the live route away later", async () => {
    const minikubeDead = entryToJson({ ...request, pid: DEAD, createdAt: "x" });
    await writeFile(registry.path, JSON.stringify([minikubeDead]));
    // The dead tunnel's route is gone already (a reboot): we add it again.
    expect(await new RouteRegistrar(table, registry, { pid: process.pid }).addRoutes([request])).toEqual([
      { kind: "added" },
    ]);
    expect(await entries()).toEqual([`10.96.0.0/12:${process.pid}`]);
    await cleanupStaleTunnels(table, registry);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
  });

  it("cleanup never removes a route that a live entry also holds (a dead entry and a live one for the same route)", async () => {
    await lab.addHostRoute("10.96.0.0/12", "via", "192.168.49.2");
    const dead = entryToJson({ ...request, pid: DEAD, createdAt: "x" });
    const live = entryToJson({ ...request, pid: process.pid, createdAt: "x" });
    await writeFile(registry.path, JSON.stringify([dead, live]));
    const report = await cleanupStaleTunnels(table, registry);
    expect(report.removed).toEqual([
      expect.objectContaining({ destination: "10.96.0.0/12", pid: DEAD, routeRemoved: false }),
    ]);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await entries()).toEqual([`10.96.0.0/12:${process.pid}`]);
  });

  it("stop still removes our route after minikube's Remove dropped our entry, and after a minikube rewrite dropped our extra fields", async () => {
    const registrar = new RouteRegistrar(table, registry, { pid: process.pid });
    await registrar.addRoutes([request, podRequest]);
    // minikube rewrote the file: only Route, MachineName and Pid survive, and its Remove took the first entry with the
    // service route.
    const raw = JSON.parse(await readFile(registry.path, "utf8")) as Record<string, unknown>[];
    await writeFile(
      registry.path,
      JSON.stringify(raw.slice(1).map((e) => ({ Route: e.Route, MachineName: e.MachineName, Pid: e.Pid }))),
    );
    expect(await registrar.removeRoutes([ref(), ref(pods)])).toEqual([{ kind: "removed" }, { kind: "removed" }]);
    expect(await lab.hostRoutes()).not.toMatch(/10\.96\.0\.0|10\.244\.0\.0/);
    expect(await registry.read()).toEqual([]);
  });

  it("a route another live tunnel also holds stays in the kernel when we remove ours", async () => {
    const registrar = new RouteRegistrar(table, registry, { pid: process.pid });
    await registrar.addRoutes([request]);
    const other = entryToJson({ ...request, profile: "minikube", pid: process.ppid, createdAt: "x" });
    await registry.update((list) => ({ entries: [...list, other], result: undefined }));
    expect(await registrar.removeRoutes([ref()])).toEqual([
      { kind: "left-to-live-owner", owner: { profile: "minikube", pid: process.ppid } },
    ]);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await entries()).toEqual([`10.96.0.0/12:${process.ppid}`]);
  });

  it("a route that is not ours is never removed", async () => {
    await lab.addHostRoute("10.96.0.0/12", "via", "192.168.49.2");
    expect(await new RouteRegistrar(table, registry, { pid: process.pid }).removeRoutes([ref()])).toEqual([
      { kind: "not-ours" },
    ]);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
  });

  it("cleanup removes dead tunnels' routes and entries (ours and minikube's), keeps live ones", async () => {
    await lab.addHostRoute("10.96.0.0/12", "via", "192.168.49.2");
    await lab.addHostRoute("10.244.0.0/24", "via", "192.168.49.2");
    const minikubeEntry = JSON.parse(
      `{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.96.0.0","Mask":"//AAAA=="},"ClusterDomain":"cluster.local","ClusterDNSIP":"10.96.0.10"},"MachineName":"minikube","Pid":${DEAD}}`,
    );
    const ourDead = entryToJson({ ...podRequest, pid: DEAD, createdAt: "x" });
    const goneAlready = entryToJson({ ...request, destination: parseCidr("10.245.0.0/24"), pid: DEAD, createdAt: "x" });
    const live = entryToJson({ ...request, destination: parseCidr("10.250.0.0/24"), pid: process.pid, createdAt: "x" });
    await writeFile(registry.path, JSON.stringify([minikubeEntry, ourDead, goneAlready, live]));
    const report = await cleanupStaleTunnels(table, registry);
    expect(report.failures).toEqual([]);
    expect(report.removed.map((r) => `${r.destination}:${r.writer}:${r.routeRemoved}`).sort()).toEqual([
      "10.244.0.0/24:minikube-tunnel:true",
      "10.245.0.0/24:minikube-tunnel:false",
      "10.96.0.0/12:minikube:true",
    ]);
    expect(report.skippedAlive).toBe(1);
    expect(await lab.hostRoutes()).not.toMatch(/10\.96\.0\.0|10\.244\.0\.0/);
    expect(await entries()).toEqual([`10.250.0.0/24:${process.pid}`]);
  });

  it("cleanup goes on past a failed route removal and keeps that entry", async () => {
    await lab.addHostRoute("10.96.0.0/12", "via", "192.168.49.2");
    await lab.addHostRoute("10.244.0.0/24", "via", "192.168.49.2");
    await writeFile(
      registry.path,
      JSON.stringify([
        entryToJson({ ...request, pid: DEAD, createdAt: "x" }),
        entryToJson({ ...podRequest, pid: DEAD, createdAt: "x" }),
      ]),
    );
    const flaky: RouteTable = {
      list: (family) => table.list(family),
      apply: (changes) =>
        table.apply(changes.filter((c) => c.destination.text !== "10.96.0.0/12")).then(async (done) => [
          ...(changes.some((c) => c.destination.text === "10.96.0.0/12")
            ? [
                {
                  change: changes.find((c) => c.destination.text === "10.96.0.0/12")!,
                  ok: false,
                  error: "permission denied (injected)",
                },
              ]
            : []),
          ...done,
        ]),
    };
    const report = await cleanupStaleTunnels(flaky, registry);
    expect(report.failures).toEqual([
      expect.objectContaining({ destination: "10.96.0.0/12", error: "permission denied (injected)" }),
    ]);
    expect(report.removed.map((r) => r.destination)).toEqual(["10.244.0.0/24"]);
    expect(await entries()).toEqual([`10.96.0.0/12:${DEAD}`]);
  });
});
