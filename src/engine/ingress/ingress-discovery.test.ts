import { describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/eventually.js";
import { discoveryOn, mapped, simulator } from "../../../test-support/kube-sim/ingress-discovery-setup.js";
import {
  applyAll,
  ingress,
  ingressClass,
  minikubeIngressAddon,
  nginxControllerPod,
  remove,
  running,
  service,
} from "../../../test-support/kube-sim/network-fixtures.js";

const NODE = "node-hostport 192.168.49.2 80,443";

describe("IngressDiscovery follows a cluster's Ingresses (against the API simulator)", () => {
  it("minikube's addon: an Ingress created → its hosts at the node's hostPorts; deleted → gone; one event each", async () => {
    const api = await simulator();
    applyAll(api, minikubeIngressAddon());
    const { discovery, changes } = await discoveryOn(api);
    expect(discovery.names()).toEqual({ entries: [], unmapped: [] });
    expect(changes).toEqual([]);
    const [shop] = applyAll(api, [ingress("shop", ["shop.test"], { tlsHosts: ["shop.test", "pay.shop.test"] })]);
    await eventually(() => mapped(discovery)["pay.shop.test"], { timeoutMs: 5000, what: "the Ingress's hosts" });
    expect(mapped(discovery)).toEqual({ "pay.shop.test": NODE, "shop.test": NODE });
    expect(changes).toHaveLength(1);
    expect(changes[0]!.added.map((e) => e.host)).toEqual(["pay.shop.test", "shop.test"]);
    remove(api, shop!);
    await eventually(() => discovery.names().entries.length === 0, { timeoutMs: 5000, what: "the hosts to go" });
    expect(changes.at(-1)!.removed.map((e) => e.host)).toEqual(["pay.shop.test", "shop.test"]);
  });

  it("a class change moves the hosts to the other controller's address", async () => {
    const api = await simulator();
    const traefik = { "app.kubernetes.io/name": "traefik" };
    applyAll(api, [
      ...minikubeIngressAddon(),
      ingressClass("traefik", "traefik.io/ingress-controller"),
      nginxControllerPod("traefik-1", { namespace: "kube-system", labels: traefik, hostPorts: false }),
      service("traefik", {
        namespace: "kube-system",
        type: "LoadBalancer",
        labels: traefik,
        selector: traefik,
        clusterIP: "10.96.50.50",
        externalIP: "10.96.50.50",
      }),
      ingress("shop", ["shop.test"], { className: "nginx" }),
    ]);
    const { discovery, changes } = await discoveryOn(api);
    expect(mapped(discovery)).toEqual({ "shop.test": NODE });
    applyAll(api, [ingress("shop", ["shop.test"], { className: "traefik" })]);
    await eventually(() => mapped(discovery)["shop.test"] === "service-external 10.96.50.50 80,443", {
      timeoutMs: 5000,
      what: "the host at Traefik's external IP",
    });
    expect(changes.at(-1)!.changed.map((c) => `${c.before.address.kind} → ${c.after.address.kind}`)).toEqual([
      "node-hostport → service-external",
    ]);
  });

  it("a classless Ingress waits for a default class, then takes it", async () => {
    const api = await simulator();
    applyAll(api, [
      ...minikubeIngressAddon().filter((o) => o.kind !== "IngressClass"),
      ingressClass("nginx", "k8s.io/ingress-nginx"),
      ingress("shop", ["shop.test"]),
    ]);
    const { discovery, changes } = await discoveryOn(api);
    expect(discovery.names().unmapped.map((u) => u.reason)).toEqual([
      "the Ingress names no class and no IngressClass is the default",
    ]);
    applyAll(api, [ingressClass("nginx", "k8s.io/ingress-nginx", { isDefault: true })]);
    await eventually(() => mapped(discovery)["shop.test"] === NODE, { timeoutMs: 5000, what: "the default class" });
    expect(changes.at(-1)).toMatchObject({ unmappedChanged: true, names: { unmapped: [] } });
  });

  it("hostPorts first; a controller without them is reached through its Service, by external IP once it has one", async () => {
    const api = await simulator();
    applyAll(api, [...minikubeIngressAddon(), ingress("shop", ["shop.test"])]);
    const { discovery } = await discoveryOn(api);
    expect(mapped(discovery)).toEqual({ "shop.test": NODE });
    remove(api, api.store.list("pods", "ingress-nginx").items[0]!);
    applyAll(api, [nginxControllerPod("ingress-nginx-controller-new", { hostPorts: false, status: running() })]);
    await eventually(() => mapped(discovery)["shop.test"] === "service-clusterip 10.96.200.10 80,443", {
      timeoutMs: 5000,
      what: "the controller's ClusterIP",
    });
    applyAll(api, [service("ingress-nginx-controller", { type: "LoadBalancer", externalIP: "172.30.0.40" })]);
    await eventually(() => mapped(discovery)["shop.test"] === "service-external 172.30.0.40 80,443", {
      timeoutMs: 5000,
      what: "the controller's external IP",
    });
    expect(discovery.names().entries[0]!.address.service).toBe("ingress-nginx/ingress-nginx-controller");
  });

  it("watches only ingress controllers' pods: other pods' churn reaches nothing; no Gateway API, no Gateway watches", async () => {
    const api = await simulator();
    applyAll(api, minikubeIngressAddon());
    const { discovery } = await discoveryOn(api);
    expect(discovery.stats().collections).toBe(4);
    expect(discovery.gatewayApi()).toEqual([]);
    const before = discovery.recomputes;
    for (let i = 0; i < 20; i++)
      applyAll(api, [nginxControllerPod(`web-${i}`, { namespace: "default", labels: { app: "web" } })]);
    applyAll(api, [ingress("marker", ["marker.test"])]);
    await eventually(() => mapped(discovery)["marker.test"], { timeoutMs: 5000, what: "the marker Ingress" });
    expect(discovery.recomputes - before).toBe(1);
  });

  it("200 Ingresses applied at once: every host, in a few recomputations", async () => {
    const api = await simulator();
    applyAll(api, minikubeIngressAddon());
    const { discovery, changes } = await discoveryOn(api);
    const before = discovery.recomputes;
    applyAll(
      api,
      Array.from({ length: 200 }, (_, i) => ingress(`app-${i}`, [`app-${i}.test`, `www.app-${i}.test`])),
    );
    await eventually(() => discovery.names().entries.length === 400, { timeoutMs: 5000, what: "400 hosts" });
    expect(discovery.recomputes - before).toBeLessThan(20);
    expect(changes.flatMap((c) => c.added)).toHaveLength(400);
  });
});
