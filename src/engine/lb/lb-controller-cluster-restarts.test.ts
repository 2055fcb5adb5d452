import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { KubeSim } from "../../../test-support/kube-sim/kube-sim.js";
import { eventually, timeUntil } from "../../../test-support/eventually.js";
import { externalIpsOf, lbService } from "../../../test-support/kube-sim/sim-client.js";
import { KubeConnection } from "../kube/kube-connection.js";
import { KubeHttp } from "../kube/kube-http.js";
import { IpPool } from "./ip-pool.js";
import { LoadBalancerController, type LbControllerOptions } from "./lb-controller.js";

const sims: KubeSim[] = [];
const controllers: LoadBalancerController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.stop(2000).catch(() => undefined);
  for (const s of sims.splice(0)) await s.stop();
});

async function sim(options: ConstructorParameters<typeof Object>[0] = {}): Promise<KubeSim> {
  const started = await KubeSim.start({ bookmarkIntervalMs: 200, ...(options as object) });
  sims.push(started);
  return started;
}

/** What the app does: the kubeconfig is read again whenever the connection fails. */
function connectionTo(
  target: KubeSim,
  clientOptions: Parameters<typeof KubeHttp.fromKubeConfig>[1] = {},
): Promise<KubeConnection> {
  return KubeConnection.open(() => {
    const config = new KubeConfig();
    config.loadFromFile(target.kubeconfig);
    config.setCurrentContext(target.profile);
    return KubeHttp.fromKubeConfig(config, clientOptions);
  });
}

async function controllerOn(client: KubeConnection, options: LbControllerOptions = { mode: "clusterip" }) {
  const controller = new LoadBalancerController(client, options);
  controllers.push(controller);
  await controller.start();
  return controller;
}

describe("the controller follows a cluster that restarts", () => {
  it("API back on a new port with a rewritten kubeconfig: a Service created afterwards still gets its external IP", async () => {
    const api = await sim();
    const controller = await controllerOn(await connectionTo(api));
    api.store.create("services", "default", lbService("before"));
    await eventually(() => externalIpsOf(api, "before").length === 1, {
      timeoutMs: 3000,
      what: "external IPs before the restart",
    });
    const oldUrl = api.url;
    await api.restart();
    expect(api.url).not.toBe(oldUrl);
    api.store.create("services", "default", lbService("after"));
    await eventually(() => externalIpsOf(api, "after").length === 1, {
      timeoutMs: 15_000,
      what: "external IPs after the restart",
    });
    expect(controller.stats().lists).toBeGreaterThanOrEqual(2);
  });

  it("a watch whose connection died silently is noticed by its idle timeout and started again", async () => {
    const api = await sim({ bookmarkIntervalMs: 60_000 });
    await controllerOn(await connectionTo(api, { watchIdleTimeoutMs: 700 }));
    await eventually(() => api.openWatches === 1, { timeoutMs: 3000, what: "the watch" });
    expect(api.freezeWatches()).toBe(1);
    api.store.create("services", "default", lbService("late"));
    await eventually(() => externalIpsOf(api, "late").length === 1, {
      timeoutMs: 5000,
      what: "external IPs through a new watch",
    });
  });

  it("a server that ends every watch at once is not hammered: watches back off", async () => {
    const api = await sim();
    const controller = await controllerOn(await connectionTo(api));
    api.faults.watchEndsAtOnce = true;
    const before = controller.stats().watches;
    api.dropWatches();
    // Each watch that ends at once waits its backoff before the next: at least 125, 250, 500 ms (half of 250 ms
    // doubling; jitter adds up to as much again), and the dropped one at most one more. So four more watches take
    // at least 875 ms, where a hot loop would open them in a few milliseconds.
    const took = await timeUntil(() => controller.stats().watches - before >= 4, {
      timeoutMs: 10_000,
      what: "four more watches",
    });
    expect(took).toBeGreaterThan(800);
    api.faults.watchEndsAtOnce = false;
  });

  it("lists in pages (limit/continue): 1,200 Services arrive in three pages and all get an IP", async () => {
    const api = await sim();
    for (let i = 0; i < 1200; i++) api.store.create("services", "default", lbService(`s${i}`));
    api.resetCounts();
    await controllerOn(await connectionTo(api));
    expect(api.counts.byVerb.list).toBe(3);
    await eventually(() => externalIpsOf(api, "s1199").length === 1 && externalIpsOf(api, "s0").length === 1, {
      timeoutMs: 15_000,
      what: "every Service assigned",
    });
  });

  it("treats resourceVersions as opaque: with versions that count down, every Service is written once and later edits are still followed", async () => {
    const api = await sim({ opaqueResourceVersions: true });
    const controller = await controllerOn(await connectionTo(api), {
      mode: "pool",
      pool: new IpPool(["172.30.0.0/24"]),
    });
    for (let i = 0; i < 50; i++) api.store.create("services", "default", lbService(`o${i}`));
    await eventually(
      () => Array.from({ length: 50 }, (_, i) => externalIpsOf(api, `o${i}`).length).every((n) => n === 1),
      {
        timeoutMs: 5000,
        what: "all assigned",
      },
    );
    // Our 50 writes come back through the watch, and a misread version would write again. The watch delivers in
    // order, so once it has shown a marker made after them, the controller has judged every one.
    api.store.create("services", "default", {
      metadata: { name: "marker", namespace: "default" },
      spec: { type: "ClusterIP", ports: [{ port: 80 }] },
    });
    await eventually(() => controller.allServices().some((s) => s.name === "marker"), {
      timeoutMs: 3000,
      what: "the marker through the watch",
    });
    await controller.idle();
    expect(controller.stats().writes).toBe(50);
    // The user asks for another address: a newer version with a smaller number must not be taken for an old one.
    const o0 = api.store.get("services", "default", "o0");
    api.store.update(
      "services",
      "default",
      "o0",
      {
        ...o0,
        metadata: {
          ...o0.metadata,
          annotations: { ...o0.metadata.annotations, "minikube-tunnel.io/load-balancer-ips": "172.30.0.200" },
        },
      },
      null,
    );
    await eventually(() => externalIpsOf(api, "o0")[0] === "172.30.0.200", {
      timeoutMs: 3000,
      what: "the requested address",
    });
  });

  it("connection resets on stop: writes are retried (they carry a resourceVersion precondition), every IP is released within the limit", async () => {
    const api = await sim();
    const controller = await controllerOn(await connectionTo(api));
    for (let i = 0; i < 49; i++) api.store.create("services", "default", lbService(`lb-${i}`));
    await eventually(
      () => Array.from({ length: 49 }, (_, i) => externalIpsOf(api, `lb-${i}`).length).every((n) => n === 1),
      { timeoutMs: 5000, what: "all assigned" },
    );
    const logs: string[] = [];
    controller.on("log", (line: string) => logs.push(line));
    // About what the issue saw: 5 of 49 releases hit a socket the server had closed.
    api.faults.resetRate = 0.1;
    const started = performance.now();
    await controller.stop();
    controllers.splice(controllers.indexOf(controller), 1);
    expect(performance.now() - started).toBeLessThan(8000);
    api.faults.resetRate = 0;
    const left = Array.from({ length: 49 }, (_, i) => `lb-${i}`).filter((name) => externalIpsOf(api, name).length > 0);
    expect(left, logs.join("\n")).toEqual([]);
  });
});
