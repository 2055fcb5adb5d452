import { readFile, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { KubeSim } from "../../test-support/kube-sim/kube-sim.js";
import { eventually, lbService } from "../../test-support/kube-sim/sim-client.js";
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

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    sim = await KubeSim.start({ profile: "minikube" });
    sim.store.create("nodes", null, { metadata: { name: "minikube" }, spec: { podCIDR: "10.244.0.0/24", podCIDRs: ["10.244.0.0/24"] } });
    Object.assign(process.env, fake.env({ KUBECONFIG: sim.kubeconfig }));
    lb = { enabled: true, mode: "clusterip", pool: [], className: null, releaseOnStop: true };
    // Names stay off in process: this test runs outside a private /etc.
    const engine = await createEngine({ routeTable: new LinuxRouteTable(lab.hostRunner()), network: lab.hostNetwork(), names: false });
    session = new AppModel({ engine, loadBalancer: () => lb, pollIntervalMs: 200, pushIntervalMs: 20, platform: "linux" });
    notes.length = 0;
    latest = null;
    session.on("notification", (n: AppNotification) => notes.push(n));
    session.on("state", (s: AppState) => (latest = s));
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
    await eventually(() => (profileState()?.services[0]?.ingress.length ?? 0) > 0, 5000, "web's ingress in the pushed state");
    const state = profileState()!;
    expect(state).toMatchObject({ running: true, phase: "active", nodeIp: "192.168.49.2", lbMode: "clusterip" });
    expect(state.routes.map((r) => [r.cidr, r.kind, r.state])).toEqual([["10.96.0.0/12", "service", "active"], ["10.244.0.0/24", "pod", "active"]]);
    expect(state.services[0]).toMatchObject({ namespace: "default", name: "web", owner: "minikube-tunnel", ingress: [{ ip: web.spec.clusterIP, ipMode: "VIP" }] });

    await session.stop("minikube");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(sim.store.get("services", "default", "web").status.loadBalancer.ingress ?? []).toEqual([]);
    expect(session.state().profiles[0]).toMatchObject({ running: false, phase: "stopped", routes: [] });
    expect(session.logs(50).some((l) => l.includes("[minikube] tunnel stopped; routes removed"))).toBe(true);
  });

  it("a conflicting route is left alone, shown with the command to remove it, and announced once", async () => {
    await lab.addHostRoute("10.96.0.0/16", "via", "192.168.49.7");
    await session.start("minikube");
    await eventually(() => notes.some((n) => n.kind === "conflict"), 3000, "conflict notification");
    const route = session.state().profiles[0]!.routes.find((r) => r.cidr === "10.96.0.0/12")!;
    expect(route.state).toBe("conflict");
    expect(route.conflict).toMatchObject({ existing: { destination: "10.96.0.0/16", gateway: "192.168.49.7", interface: "mkt0" }, removeCommand: "sudo ip route del 10.96.0.0/16 via 192.168.49.7 dev mkt0" });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/16 via 192.168.49.7");
    await new Promise((r) => setTimeout(r, 500));
    expect(notes.filter((n) => n.kind === "conflict")).toHaveLength(1);
  });

  it("the node stopping removes the routes and raises a notification", async () => {
    await session.start("minikube");
    await eventually(() => profileState()?.phase === "active", 3000, "active");
    await lab.setNodeLink(false);
    await fake.setHost("minikube", "Stopped");
    await eventually(() => notes.some((n) => n.kind === "node-stopped"), 5000, "node-stopped notification");
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

  it.each([10, 150, 400])("quitting %i ms into a Start: when shutdown resolves (main.ts exits then), no route and no external IP is left, nor set later", async (delayMs) => {
    sim.store.create("services", "default", lbService("web"));
    const ingress = () => sim.store.get("services", "default", "web").status?.loadBalancer?.ingress ?? [];
    // The sim answers slowly, so the controller is still starting when Quit comes.
    sim.faults.latencyMs = 100;
    void session.start("minikube").catch(() => undefined);
    await new Promise((r) => setTimeout(r, delayMs));
    await session.shutdown();
    // What main.ts does: exit right here. Whatever is true now is what the user is left with.
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(ingress()).toEqual([]);
    expect(session.runningProfiles()).toEqual([]);
    expect(JSON.parse(await readFile(fake.registryPath, "utf8").catch(() => "[]"))).toEqual([]);
    await expect(session.start("minikube")).rejects.toThrow(/quitting/);
    // And nothing that was still in flight sets anything afterwards (in the app, this process would be gone).
    const seen: unknown[] = [];
    for (const end = Date.now() + 800; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) seen.push(...ingress());
    expect(seen).toEqual([]);
  });

  it("a profile created while the app runs shows up", async () => {
    session.watchProfiles(50);
    await fake.addProfile({ name: "dev", nodeIp: "192.168.49.3" });
    await eventually(() => latest?.profiles.some((p) => p.profile === "dev") === true, 3000, "dev in the pushed state");
    expect(session.state().profiles.map((p) => p.profile)).toEqual(["dev", "minikube"]);
  });

  it("cleanup removes a dead tunnel's route and entry, and counts it", async () => {
    await lab.addHostRoute("10.97.0.0/16", "via", "192.168.49.2");
    const dead = { destination: parseCidr("10.97.0.0/16"), gateway: "192.168.49.2", profile: "old", clusterDomain: "cluster.local", clusterDnsIp: "10.96.0.10", pid: 2 ** 22 + 7, createdAt: "x" };
    await writeFile(fake.registryPath, JSON.stringify([entryToJson(dead)]));
    expect(await session.cleanup()).toEqual({ removed: 1, released: 0, failures: [] });
    expect(await lab.hostRoutes()).not.toContain("10.97.0.0/16");
  });
});
