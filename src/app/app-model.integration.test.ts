import { readFile, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { KubeSim } from "../../test-support/kube-sim/kube-sim.js";
import { eventually } from "../../test-support/eventually.js";
import { lbService } from "../../test-support/kube-sim/sim-client.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import type { AppState } from "../shared/app-state.js";
import { parseCidr } from "../shared/cidr.js";
import { entryToJson } from "../shared/tunnel-entry.js";
import { createEngine } from "../engine/engine.js";
import { LinuxRouteTable } from "../engine/root/routes/route-table-linux.js";
import { AppModel } from "./app-model.js";
import type { LoadBalancerSettings } from "../engine/tunnels/profile-tunnel.js";
import type { AppNotification } from "./state-notifications.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: app session on the real kernel: ${skip}`);

/**
 * The tray app's engine side, in process: routes go into the lab's host
 * namespace, minikube is the fake, the cluster is the API simulator.
 */
describe.skipIf(skip !== null)("app session (what the tray app runs), on the real kernel", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let sim: KubeSim;
  let session: AppModel;
  let lb: LoadBalancerSettings;
  const savedEnv = { ...process.env };
  const notes: AppNotification[] = [];
  let latest: AppState | null = null;
  let pushes = 0;

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    sim = await KubeSim.start({ profile: "minikube" });
    sim.store.create("nodes", null, {
      metadata: { name: "minikube" },
      spec: { podCIDR: "10.244.0.0/24", podCIDRs: ["10.244.0.0/24"] },
    });
    Object.assign(process.env, fake.env({ KUBECONFIG: sim.kubeconfig }));
    lb = { enabled: true, mode: "clusterip", pool: [], className: null, releaseOnStop: true };
    // Names stay off in process: this test runs outside a private /etc.
    const engine = await createEngine({
      routeTable: new LinuxRouteTable(lab.hostRunner()),
      network: lab.hostNetwork(),
      names: false,
    });
    session = new AppModel({
      engine,
      loadBalancer: () => lb,
      pollIntervalMs: 200,
      pushIntervalMs: 20,
      platform: "linux",
    });
    notes.length = 0;
    latest = null;
    session.on("notification", (n: AppNotification) => notes.push(n));
    pushes = 0;
    session.on("state", (s: AppState) => {
      latest = s;
      pushes++;
    });
    await session.refreshProfiles();
  });

  afterEach(async () => {
    await session.shutdown().catch(() => undefined);
    await sim.stop();
    await lab.destroy();
    await fake.destroy();
    process.env = { ...savedEnv };
  });

  const profileState = () => latest?.profiles.find((p) => p.profile === "minikube");

  it("lists the profiles on disk; Start adds one route per CIDR and assigns external IPs; Stop removes and releases them", async () => {
    expect(session.state().profiles.map((p) => [p.profile, p.running])).toEqual([["minikube", false]]);
    const web = sim.store.create("services", "default", lbService("web"));
    await session.start("minikube");
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await lab.hostRoutes()).toContain("10.244.0.0/24 via 192.168.49.2");
    await eventually(() => (profileState()?.services[0]?.externalIps.length ?? 0) > 0, {
      timeoutMs: 5000,
      what: "web's external IPs in the pushed state",
    });
    const state = profileState()!;
    expect(state).toMatchObject({ running: true, phase: "active", nodeIp: "192.168.49.2", lbMode: "clusterip" });
    expect(state.routes.map((r) => [r.cidr, r.kind, r.state])).toEqual([
      ["10.96.0.0/12", "service", "active"],
      ["10.244.0.0/24", "pod", "active"],
    ]);
    expect(state.services[0]).toMatchObject({
      namespace: "default",
      name: "web",
      owner: "minikube-tunnel",
      externalIps: [{ ip: web.spec.clusterIP, ipMode: "VIP" }],
    });

    await session.stop("minikube");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(sim.store.get("services", "default", "web").status.loadBalancer.ingress ?? []).toEqual([]);
    expect(session.state().profiles[0]).toMatchObject({ running: false, phase: "stopped", routes: [] });
    expect(session.logs(50).some((l) => l.includes("[minikube] tunnel stopped; what it set is taken back"))).toBe(true);
  });

  it("a conflicting route is left alone, shown with the command to remove it, and announced once", async () => {
    await lab.addHostRoute("10.96.0.0/16", "via", "192.168.49.7");
    await session.start("minikube");
    await eventually(() => notes.some((n) => n.kind === "conflict"), {
      timeoutMs: 3000,
      what: "conflict notification",
    });
    const route = session.state().profiles[0]!.routes.find((r) => r.cidr === "10.96.0.0/12")!;
    expect(route.state).toBe("conflict");
    expect(route.conflict).toMatchObject({
      existing: { destination: "10.96.0.0/16", gateway: "192.168.49.7", interface: "mkt0" },
      removeCommand: "sudo ip route del 10.96.0.0/16 via 192.168.49.7 dev mkt0",
    });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/16 via 192.168.49.7");
    // Found again (as after a network change), and pushed again: each push compares the state with the last one
    // pushed, so this is where a second announcement would come. setProblem(null) changes nothing but asks for a push.
    const asked = (await fake.calls()).status ?? 0;
    await session.recheck();
    expect((await fake.calls()).status).toBeGreaterThan(asked);
    const seen = pushes;
    session.setProblem(null);
    await eventually(() => pushes > seen, { timeoutMs: 3000, what: "a push after the re-check" });
    expect(session.state().profiles[0]!.routes.find((r) => r.cidr === "10.96.0.0/12")!.state).toBe("conflict");
    expect(notes.filter((n) => n.kind === "conflict")).toHaveLength(1);
  });

  it("the node stopping removes the routes and raises a notification", async () => {
    await session.start("minikube");
    await eventually(() => profileState()?.phase === "active", { timeoutMs: 3000, what: "active" });
    await lab.setNodeLink(false);
    await fake.setHost("minikube", "Stopped");
    await eventually(() => notes.some((n) => n.kind === "node-stopped"), {
      timeoutMs: 5000,
      what: "node-stopped notification",
    });
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });

  it("a Start that cannot work says why on the profile and rejects; the next Start clears it", async () => {
    lb = { ...lb, mode: "pool" };
    await expect(session.start("minikube")).rejects.toThrow(/pool mode needs a pool/);
    expect(session.state().profiles[0]!.message).toMatch(/^Start failed: .*LoadBalancerStartIP/);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    session.setProblem("preferences could not be read");
    session.reportActionError("Could not start the tunnel for minikube: pool mode needs a pool");
    expect(session.state().error).toBe("Could not start the tunnel for minikube: pool mode needs a pool");
    lb = { ...lb, mode: "pool", pool: ["172.30.0.0/24"] };
    await session.start("minikube");
    expect(session.state().error).toBe("preferences could not be read");
    expect(session.state().profiles[0]!.message).toBeUndefined();
    expect(await lab.hostRoutes()).toContain("172.30.0.0/24 via 192.168.49.2");
    await expect(session.start("../etc")).rejects.toThrow(/profile name/);
  });

  /** Moments of a Start, each seen from outside: the fake minikube's call log, the lab's routes, the API's counters. */
  const momentsOfAStart: Record<string, () => Promise<unknown>> = {
    "while minikube is asked about the node": async () => {
      const before = (await fake.calls()).status ?? 0;
      return eventually(async () => ((await fake.calls()).status ?? 0) > before, {
        timeoutMs: 10_000,
        everyMs: 2,
        what: "minikube status to be run",
      });
    },
    "once the route is in": () =>
      eventually(async () => (await lab.hostRoutes()).includes("10.96.0.0/12"), {
        timeoutMs: 10_000,
        everyMs: 2,
        what: "the service route",
      }),
    "once the API has answered the controller's list": () =>
      eventually(() => (sim.counts.byVerb.list ?? 0) > 0, {
        timeoutMs: 10_000,
        everyMs: 2,
        what: "the controller's list",
      }),
    "once the controller has written an external IP": () =>
      eventually(() => sim.counts.writes > 0, { timeoutMs: 10_000, everyMs: 2, what: "the controller's first write" }),
  };

  it.each(Object.keys(momentsOfAStart))(
    "quitting %s: when shutdown resolves (main.ts exits then), no route and no external IP is left, nor set later",
    async (moment) => {
      sim.store.create("services", "default", lbService("web"));
      const externalIps = () => sim.store.get("services", "default", "web").status?.loadBalancer?.ingress ?? [];
      // The sim answers slowly, so the controller is still starting when Quit comes.
      sim.faults.latencyMs = 100;
      const reached = momentsOfAStart[moment]!();
      void session.start("minikube").catch(() => undefined);
      await reached;
      await session.shutdown();
      // Every change to the Service from here on is seen, not only those a poll would catch.
      const set: unknown[] = [];
      const unsubscribe = sim.store.subscribe((event) => {
        if (event.plural === "services" && event.object.metadata?.name === "web")
          set.push(...(event.object.status?.loadBalancer?.ingress ?? []));
      });
      // What main.ts does: exit right here. Whatever is true now is what the user is left with.
      expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
      expect(externalIps()).toEqual([]);
      expect(session.runningProfiles()).toEqual([]);
      expect(JSON.parse(await readFile(fake.registryPath, "utf8").catch(() => "[]"))).toEqual([]);
      await expect(session.start("minikube")).rejects.toThrow(/quitting/);
      // And nothing that was still in flight sets anything afterwards (in the app, this process would be gone): once
      // the sim has answered every request it had (the stopped app's watches closed too), none can.
      await eventually(() => sim.openRequests === 0 || undefined, { what: "the sim to answer every request" });
      unsubscribe();
      expect(set).toEqual([]);
      expect(externalIps()).toEqual([]);
    },
  );

  it("a profile created while the app runs shows up", async () => {
    session.watchProfiles(50);
    await fake.addProfile({ name: "dev", nodeIp: "192.168.49.3" });
    await eventually(() => latest?.profiles.some((p) => p.profile === "dev") === true, {
      timeoutMs: 3000,
      what: "dev in the pushed state",
    });
    expect(session.state().profiles.map((p) => p.profile)).toEqual(["dev", "minikube"]);
  });

  it("cleanup removes a dead tunnel's route and entry, and counts it", async () => {
    await lab.addHostRoute("10.97.0.0/16", "via", "192.168.49.2");
    const dead = {
      destination: parseCidr("10.97.0.0/16"),
      gateway: "192.168.49.2",
      profile: "old",
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
      pid: 2 ** 22 + 7,
      createdAt: "x",
    };
    await writeFile(fake.registryPath, JSON.stringify([entryToJson(dead)]));
    expect(await session.cleanup()).toEqual({ removed: 1, released: 0, failures: [] });
    expect(await lab.hostRoutes()).not.toContain("10.97.0.0/16");
  });
});
