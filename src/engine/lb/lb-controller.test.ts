import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeSim } from "../../../test-support/kube-sim/kube-sim.js";
import { eventually, timeUntil } from "../../../test-support/eventually.js";
import { clientFor, externalIpsOf, lbService } from "../../../test-support/kube-sim/sim-client.js";
import type { KubeHttp } from "../kube/kube-http.js";
import { IpPool } from "./ip-pool.js";
import { LoadBalancerController, type LbControllerOptions } from "./lb-controller.js";
import { ASSIGNED_ANNOTATION, WANTED_IPS_ANNOTATION } from "./lb-service.js";

let sim: KubeSim;
let client: KubeHttp;
const controllers: LoadBalancerController[] = [];

beforeEach(async () => {
  sim = await KubeSim.start({ bookmarkIntervalMs: 200 });
  client = await clientFor(sim);
});
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.stop().catch(() => undefined);
  await sim.stop();
});

async function startController(options: LbControllerOptions): Promise<LoadBalancerController> {
  const controller = new LoadBalancerController(client, options);
  controllers.push(controller);
  await controller.start();
  return controller;
}

const svc = (name: string, namespace = "default") => sim.store.get("services", namespace, name);
const eventsFor = (name: string) =>
  sim.store
    .list("events", "default")
    .items.filter((e) => e.involvedObject.name === name)
    .map((e) => e.reason as string);

describe("ClusterIP mode (default)", () => {
  it("assigns the ClusterIP with ipMode VIP and records it; type change and delete release without further writes", async () => {
    const controller = await startController({ mode: "clusterip" });
    const created = sim.store.create("services", "default", lbService("web"));
    await eventually(() => externalIpsOf(sim, "web").length === 1, { timeoutMs: 3000, what: "external IPs" });
    expect(svc("web").status.loadBalancer.ingress).toEqual([{ ip: created.spec.clusterIP, ipMode: "VIP" }]);
    expect(svc("web").metadata.annotations[ASSIGNED_ANNOTATION]).toBe(created.spec.clusterIP);
    await eventually(() => eventsFor("web").includes("IPAllocated"), { timeoutMs: 3000, what: "IPAllocated event" });

    const current = svc("web");
    sim.store.update("services", "default", "web", { ...current, spec: { ...current.spec, type: "ClusterIP" } }, null);
    await controller.idle();
    const writes = controller.stats().writes;
    expect(svc("web").status.loadBalancer).toEqual({});
    sim.store.delete("services", "default", "web");
    // The delete has reached the controller once its cache no longer holds the Service; what it would do about it is
    // queued by then.
    await eventually(() => !controller.allServices().some((s) => s.name === "web"), {
      timeoutMs: 3000,
      what: "the controller to see the delete",
    });
    await controller.idle();
    expect(controller.stats().writes).toBe(writes);
  });

  it("gives a dual-stack Service one external IP per clusterIPs family", async () => {
    await startController({ mode: "clusterip" });
    sim.store.create(
      "services",
      "default",
      lbService("dual", { spec: { clusterIP: "10.96.5.5", clusterIPs: ["10.96.5.5"] } }),
    );
    const stored = svc("dual");
    sim.store.update(
      "services",
      "default",
      "dual",
      {
        ...stored,
        spec: {
          ...stored.spec,
          clusterIPs: ["10.96.5.5", "fd00:10:96::5"],
          ipFamilies: ["IPv4", "IPv6"],
          ipFamilyPolicy: "PreferDualStack",
        },
      },
      null,
    );
    await eventually(() => externalIpsOf(sim, "dual").length === 2, { timeoutMs: 3000, what: "two external IPs" });
    expect(svc("dual").status.loadBalancer.ingress).toEqual([
      { ip: "10.96.5.5", ipMode: "VIP" },
      { ip: "fd00:10:96::5", ipMode: "VIP" },
    ]);
  });

  it("on stop removes only the external IPs it set, and only if unchanged", async () => {
    const controller = await startController({ mode: "clusterip" });
    sim.store.create("services", "default", lbService("a"));
    sim.store.create("services", "default", lbService("b"));
    await eventually(() => externalIpsOf(sim, "a").length === 1 && externalIpsOf(sim, "b").length === 1, {
      timeoutMs: 3000,
      what: "a and b assigned",
    });
    const b = svc("b");
    sim.store.update(
      "services",
      "default",
      "b",
      { ...b, status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } } },
      "status",
    );
    await controller.idle();
    await controller.stop();
    expect(externalIpsOf(sim, "a")).toEqual([]);
    expect(svc("a").metadata.annotations?.[ASSIGNED_ANNOTATION]).toBeUndefined();
    expect(externalIpsOf(sim, "b")).toEqual(["198.51.100.7"]);
  });
});

describe.each(["clusterip", "pool"] as const)("%s mode", (mode) => {
  const options = (): LbControllerOptions =>
    mode === "pool" ? { mode, pool: new IpPool(["172.30.0.0/24"]) } : { mode };

  it("leaves alone a Service whose external IPs another controller set, and one with another loadBalancerClass", async () => {
    sim.store.create("services", "default", lbService("theirs"));
    const theirs = svc("theirs");
    sim.store.update(
      "services",
      "default",
      "theirs",
      { ...theirs, status: { loadBalancer: { ingress: [{ ip: "203.0.113.9" }] } } },
      "status",
    );
    sim.store.create("services", "default", lbService("classy", { spec: { loadBalancerClass: "example.com/other" } }));
    const controller = await startController({ ...options(), className: "minikube-tunnel.io/lb" });
    sim.store.create(
      "services",
      "default",
      lbService("ours-class", { spec: { loadBalancerClass: "minikube-tunnel.io/lb" } }),
    );
    await eventually(() => externalIpsOf(sim, "ours-class").length === 1, {
      timeoutMs: 3000,
      what: "ours-class assigned",
    });
    await controller.idle();
    expect(externalIpsOf(sim, "theirs")).toEqual(["203.0.113.9"]);
    expect(externalIpsOf(sim, "classy")).toEqual([]);
    expect(controller.services().find((s) => s.name === "theirs")?.owner).toBe("other");
  });

  it("create → assign, delete → released (its IP goes to the next Service in pool mode)", async () => {
    const controller = await startController(
      mode === "pool" ? { mode, pool: new IpPool(["172.30.0.5-172.30.0.5"]) } : { mode },
    );
    sim.store.create("services", "default", lbService("first"));
    await eventually(() => externalIpsOf(sim, "first").length === 1, { timeoutMs: 3000, what: "first assigned" });
    const ip = externalIpsOf(sim, "first")[0];
    sim.store.delete("services", "default", "first");
    sim.store.create("services", "default", lbService("second"));
    await eventually(() => externalIpsOf(sim, "second").length === 1, { timeoutMs: 3000, what: "second assigned" });
    if (mode === "pool") expect(externalIpsOf(sim, "second")).toEqual([ip]);
    await controller.idle();
    expect(controller.services().map((s) => s.name)).toEqual(["second"]);
  });
});

describe("pool allocation", () => {
  it("allocates from the pool, honours loadBalancerIP and the wanted-IPs annotation, and reports bad requests as events", async () => {
    await startController({ mode: "pool", pool: new IpPool(["172.30.0.0/24"]) });
    sim.store.create("services", "default", lbService("auto"));
    sim.store.create("services", "default", lbService("fixed", { spec: { loadBalancerIP: "172.30.0.77" } }));
    sim.store.create(
      "services",
      "default",
      lbService("annotated", { annotations: { [WANTED_IPS_ANNOTATION]: "172.30.0.88" } }),
    );
    sim.store.create("services", "default", lbService("outside", { spec: { loadBalancerIP: "10.0.0.1" } }));
    sim.store.create("services", "default", lbService("clash", { spec: { loadBalancerIP: "172.30.0.77" } }));
    await eventually(
      () =>
        externalIpsOf(sim, "auto").length === 1 &&
        externalIpsOf(sim, "fixed").length === 1 &&
        externalIpsOf(sim, "annotated").length === 1,
      { timeoutMs: 3000, what: "auto, fixed and annotated assigned" },
    );
    expect(externalIpsOf(sim, "auto")).toEqual(["172.30.0.1"]);
    expect(externalIpsOf(sim, "fixed")).toEqual(["172.30.0.77"]);
    expect(externalIpsOf(sim, "annotated")).toEqual(["172.30.0.88"]);
    await eventually(
      () => eventsFor("outside").includes("AllocationFailed") && eventsFor("clash").includes("AllocationFailed"),
      { timeoutMs: 3000, what: "AllocationFailed events" },
    );
    expect(externalIpsOf(sim, "outside")).toEqual([]);
    expect(externalIpsOf(sim, "clash")).toEqual([]);
  });

  it("exhaustion leaves a Service pending with AllocationFailed, and a released IP is then assigned to it", async () => {
    const controller = await startController({ mode: "pool", pool: new IpPool(["172.30.0.10-172.30.0.11"]) });
    for (const name of ["one", "two", "three"]) sim.store.create("services", "default", lbService(name));
    await eventually(() => externalIpsOf(sim, "one").length + externalIpsOf(sim, "two").length === 2, {
      timeoutMs: 3000,
      what: "one and two assigned",
    });
    await eventually(() => eventsFor("three").includes("AllocationFailed"), {
      timeoutMs: 3000,
      what: "AllocationFailed",
    });
    expect(controller.services().find((s) => s.name === "three")?.pending).toMatch(/no free address/);
    const freed = externalIpsOf(sim, "one")[0];
    const one = svc("one");
    sim.store.update("services", "default", "one", { ...one, spec: { ...one.spec, type: "ClusterIP" } }, null);
    await eventually(() => externalIpsOf(sim, "three").length === 1, { timeoutMs: 3000, what: "three assigned" });
    expect(externalIpsOf(sim, "three")).toEqual([freed]);
    // Events go out behind status writes, so IPReleased may follow three's assignment.
    await eventually(() => eventsFor("one").includes("IPReleased"), { timeoutMs: 3000, what: "IPReleased event" });
  });

  it("after a restart with 50 pool IPs assigned, new Services never get a duplicate", async () => {
    const first = await startController({ mode: "pool", pool: new IpPool(["172.30.0.0/24"]), releaseOnStop: false });
    for (let i = 0; i < 50; i++) sim.store.create("services", "default", lbService(`s${i}`));
    await eventually(
      () =>
        sim.store.list("services", "default").items.filter((s) => s.status.loadBalancer.ingress?.length).length === 50,
      { timeoutMs: 5000, what: "50 assigned" },
    );
    await first.stop();
    controllers.splice(controllers.indexOf(first), 1);
    // Delete one in the middle so a naive allocator would restart from the bottom and hand out .1 again.
    sim.store.delete("services", "default", "s0");
    await startController({ mode: "pool", pool: new IpPool(["172.30.0.0/24"]) });
    for (let i = 50; i < 70; i++) sim.store.create("services", "default", lbService(`s${i}`));
    await eventually(
      () =>
        sim.store.list("services", "default").items.filter((s) => s.status.loadBalancer.ingress?.length).length === 69,
      { timeoutMs: 5000, what: "69 assigned" },
    );
    const ips = sim.store.list("services", "default").items.map((s) => s.status.loadBalancer.ingress[0].ip);
    expect(new Set(ips).size).toBe(69);
  });
});

describe("robustness", () => {
  it("with dropped watches, 410s, 30% 409 and 10% 500, 200 Services converge within 5 s of the faults stopping, without duplicates", async () => {
    const controller = await startController({ mode: "pool", pool: new IpPool(["172.30.0.0/23"]), emitEvents: false });
    Object.assign(sim.faults, { conflictRate: 0.3, errorRate: 0.1 });
    // Four batches of 50 while every write risks a 409 or a 500; after each batch the watch is dropped, then expired
    // with a 410 once history is compacted, and the next batch comes when the controller has recovered from each.
    for (let batch = 0; batch < 4; batch++) {
      for (let i = batch * 50; i < (batch + 1) * 50; i++) {
        try {
          sim.store.create("services", "default", lbService(`f${i}`));
        } catch {
          i--;
        }
      }
      await eventually(() => sim.openWatches > 0, { timeoutMs: 10_000, what: `batch ${batch}: a watch to drop` });
      const { watches } = controller.stats();
      sim.dropWatches();
      await eventually(() => controller.stats().watches > watches && sim.openWatches > 0, {
        timeoutMs: 10_000,
        what: `batch ${batch}: a new watch after the drop`,
      });
      const { lists } = controller.stats();
      sim.store.compact();
      sim.expireWatches();
      await eventually(() => controller.stats().lists > lists, {
        timeoutMs: 10_000,
        what: `batch ${batch}: a relist after the 410`,
      });
    }
    Object.assign(sim.faults, { conflictRate: 0, errorRate: 0 });
    const took = await timeUntil(
      () =>
        sim.store.list("services", "default").items.filter((s) => s.status.loadBalancer.ingress?.length === 1)
          .length === 200,
      { timeoutMs: 5000, what: "200 assigned" },
    );
    const ips = sim.store.list("services", "default").items.map((s) => s.status.loadBalancer.ingress[0].ip);
    expect(new Set(ips).size).toBe(200);
    expect(took).toBeLessThan(5000);
    expect(controller.stats().lists).toBeGreaterThan(1);
  }, 30_000);
});

describe("forward mode", () => {
  it("gives each Service its own loopback address with ipMode Proxy, stable across a restart; a routed loadBalancerIP does not leave it pending", async () => {
    const pool = () => new IpPool(["127.100.0.1-127.100.255.254"]);
    const first = await startController({ mode: "forward", pool: pool() });
    sim.store.create("services", "default", lbService("web"));
    sim.store.create("services", "default", lbService("api", { spec: { loadBalancerIP: "192.168.1.50" } }));
    await eventually(() => externalIpsOf(sim, "web").length === 1 && externalIpsOf(sim, "api").length === 1, {
      timeoutMs: 3000,
      what: "both assigned",
    });
    const web = svc("web").status.loadBalancer.ingress;
    const api = svc("api").status.loadBalancer.ingress;
    expect(web).toEqual([{ ip: expect.stringMatching(/^127\.100\.0\.[12]$/), ipMode: "Proxy" }]);
    expect(api).toEqual([{ ip: expect.stringMatching(/^127\.100\.0\.[12]$/), ipMode: "Proxy" }]);
    expect(web[0].ip).not.toBe(api[0].ip);
    expect(first.services().find((s) => s.name === "web")?.clusterIPs).toEqual([svc("web").spec.clusterIP]);

    await first.stop(8000);
    controllers.splice(controllers.indexOf(first), 1);
    // Kept on stop would be --keep-lb-ips; released here, so a new controller allocates again from the same pool.
    const second = await startController({ mode: "forward", pool: pool(), releaseOnStop: false });
    sim.store.create("services", "default", lbService("late"));
    await eventually(() => externalIpsOf(sim, "late").length === 1, { timeoutMs: 3000, what: "late assigned" });
    expect(second.services().every((s) => s.externalIps.every((i) => i.ipMode === "Proxy"))).toBe(true);
  });
});
