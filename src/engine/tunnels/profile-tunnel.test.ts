import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/eventually.js";
import { FakeMinikube } from "../../../test-support/fake-minikube.js";
import { KubeSim } from "../../../test-support/kube-sim/kube-sim.js";
import { lbService } from "../../../test-support/kube-sim/sim-client.js";
import { applyAll, ingress, minikubeIngressAddon } from "../../../test-support/kube-sim/network-fixtures.js";
import type {
  AccessPhase,
  AccessSnapshot,
  ClusterAccess,
  ControllerPlan,
  ServicesView,
} from "../access/cluster-access.js";
import type { IngressNames } from "../ingress/name-types.js";
import { ProfileTunnel } from "./profile-tunnel.js";
import { kubeConfigSource } from "../kube/kube-config.js";

/** An access whose lock another tunnel holds until the test lets go of it: what ProfileTunnel sees of AccessBase. */
class LockedAccess extends EventEmitter implements ClusterAccess {
  readonly profile = "minikube";
  readonly mode = "route" as const;
  phase: AccessPhase = "blocked";
  async start(): Promise<void> {}
  async recheck(): Promise<void> {}
  async stop(): Promise<void> {
    this.become("stopped");
  }
  snapshot(): AccessSnapshot {
    return {
      profile: this.profile,
      mode: this.mode,
      phase: this.phase,
      host: "Running",
      nodeIp: "192.168.49.2",
      routes: [],
      probe: null,
    };
  }
  servicesChanged(_view: ServicesView): void {}
  readonly ingressNames: IngressNames[] = [];
  ingressChanged(names: IngressNames): void {
    this.ingressNames.push(names);
  }
  controllerPlan(): ControllerPlan {
    return { mode: "clusterip" };
  }
  become(phase: AccessPhase): void {
    this.phase = phase;
    this.emit("change", this.snapshot());
  }
}

describe("a profile's tunnel while another tunnel holds the profile's lock", () => {
  let fake: FakeMinikube;
  let sim: KubeSim;
  const saved = process.env.KUBECONFIG;

  beforeEach(async () => {
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2" });
    sim = await KubeSim.start({ profile: "minikube" });
    process.env.KUBECONFIG = sim.kubeconfig;
  });
  afterEach(async () => {
    process.env.KUBECONFIG = saved;
    await sim.stop();
    await fake.destroy();
  });

  const create = async (access: LockedAccess, logs: string[], lb = true) =>
    ProfileTunnel.create(
      {
        miniPath: fake.miniPath,
        decideMode: async () => ({ mode: "route", reason: "test" }),
        createAccess: async () => access,
        kubeConfig: kubeConfigSource(null),
      },
      "minikube",
      {
        lb: { enabled: lb, mode: "clusterip", pool: [], className: null, releaseOnStop: true },
        ingressDiscovery: { discoveryIntervalMs: 200 },
      },
      { log: (line) => logs.push(line) },
    );

  it("starts no LoadBalancer controller (the holder sets external IPs), and starts it once the access takes the lock over", async () => {
    sim.store.create("services", "default", lbService("web", { spec: { clusterIP: "10.96.0.50" } }));
    const access = new LockedAccess();
    const logs: string[] = [];
    const tunnel = await create(access, logs);
    await tunnel.start();
    expect(tunnel.controller).toBeNull();
    expect(logs.join("\n")).toMatch(/controller waits/);
    expect(sim.store.get("services", "default", "web")?.status?.loadBalancer?.ingress).toBeUndefined();
    access.become("active");
    await eventually(
      () => sim.store.get("services", "default", "web")?.status?.loadBalancer?.ingress?.[0]?.ip === "10.96.0.50",
      { timeoutMs: 10_000, what: "the controller to assign web's external IP" },
    );
    await eventually(() => tunnel.controller !== null, { timeoutMs: 10_000, what: "the controller to be up" });
    await tunnel.stop();
  });

  it("a stop while it waits starts nothing", async () => {
    const access = new LockedAccess();
    const tunnel = await create(access, []);
    await tunnel.start();
    const listening = access.listenerCount("change");
    await tunnel.stop();
    // Nothing of the tunnel's still waits for the lock: only the hooks' own listener is left.
    expect(access.listenerCount("change")).toBe(listening - 1);
    access.become("active");
    expect(tunnel.controller).toBeNull();
  });

  it("follows no Ingress names while it waits either; once the lock is free the access gets them, and stop ends the watches", async () => {
    applyAll(sim, [...minikubeIngressAddon(), ingress("shop", ["shop.test"])]);
    const access = new LockedAccess();
    const tunnel = await create(access, []);
    await tunnel.start();
    expect(tunnel.ingress).toBeNull();
    expect(access.ingressNames).toEqual([]);
    access.become("active");
    const names = await eventually(() => access.ingressNames.at(-1), { timeoutMs: 10_000, what: "the names" });
    expect(names.entries.map((e) => `${e.host} ${e.address.kind} ${e.address.ip}`)).toEqual([
      "shop.test node-hostport 192.168.49.2",
    ]);
    const follower = tunnel.ingress!;
    await tunnel.stop();
    expect(tunnel.ingress).toBeNull();
    // Stopped: its watches are gone, so the count of watches opened no longer moves.
    const { watches } = follower.stats();
    sim.store.create("ingresses", "default", ingress("late", ["late.test"]));
    await eventually(() => sim.store.list("ingresses", "default").items.length === 2, { what: "the new Ingress" });
    expect(follower.stats().watches).toBe(watches);
  });

  it("with the LoadBalancer controller off (--no-lb), Ingress names are still followed", async () => {
    applyAll(sim, [...minikubeIngressAddon(), ingress("shop", ["shop.test"])]);
    const access = new LockedAccess();
    access.phase = "active";
    const tunnel = await create(access, [], false);
    await tunnel.start();
    expect(tunnel.controller).toBeNull();
    expect(access.ingressNames.at(-1)?.entries.map((e) => e.host)).toEqual(["shop.test"]);
    // An Ingress that appears while it runs reaches the access.
    applyAll(sim, [ingress("blog", ["blog.test"])]);
    await eventually(() => access.ingressNames.at(-1)?.entries.length === 2, { what: "blog.test", timeoutMs: 5000 });
    await tunnel.stop();
  });
});
