import { describe, expect, it } from "vitest";
import { clusterObjects } from "../../../test-support/kube-sim/ingress-views.js";
import {
  NGINX_LABELS,
  createdAt,
  ingress,
  ingressClass,
  minikubeIngressAddon,
  nginxControllerPod,
  running,
  service,
} from "../../../test-support/kube-sim/network-fixtures.js";
import type { KubeObject } from "../../../test-support/kube-sim/object-store.js";
import { addressKey, firstPerHost, mapNames } from "./cluster-names.js";
import { INGRESS_CONTROLLERS } from "./controller-catalog.js";
import type { IngressNames } from "./name-types.js";

const names = (objects: readonly KubeObject[]): IngressNames => mapNames(clusterObjects(objects), INGRESS_CONTROLLERS);
const HTTP_AND_HTTPS = [
  { port: 80, protocol: "http" },
  { port: 443, protocol: "https" },
];
/** The addon with its controller pod replaced. */
const addonWith = (pod: KubeObject, ...more: KubeObject[]) => [
  ...minikubeIngressAddon().filter((o) => o.kind !== "Pod"),
  pod,
  ...more,
];
const pod = (options: Parameters<typeof nginxControllerPod>[1]) => nginxControllerPod("controller-1", options);
const reasons = (n: IngressNames) => n.unmapped.map((u) => `${u.host}: ${u.reason}`);

describe("Ingress hosts → class → controller → where it answers", () => {
  it("minikube's addon: every rule and TLS host of a classless Ingress goes to the node's hostPorts 80 and 443", () => {
    const result = names([
      ...minikubeIngressAddon(),
      ingress("shop", ["shop.test", "Api.Shop.Test", "*.cdn.shop.test"], { tlsHosts: ["shop.test", "pay.shop.test"] }),
    ]);
    expect(result.unmapped).toEqual([]);
    expect(result.entries.map((e) => [e.host, e.wildcard])).toEqual([
      ["*.cdn.shop.test", true],
      ["api.shop.test", false],
      ["pay.shop.test", false],
      ["shop.test", false],
    ]);
    for (const entry of result.entries)
      expect(entry).toMatchObject({
        source: "ingress",
        object: "default/shop",
        address: { kind: "node-hostport", ip: "192.168.49.2", ports: HTTP_AND_HTTPS },
      });
    expect(result.entries[0]!.address.service).toBeUndefined();
  });

  it("spec.ingressClassName, then the old annotation, pick the class; a missing class is a reason", () => {
    const objects = [
      ...minikubeIngressAddon(),
      ingressClass("other", "k8s.io/ingress-nginx"),
      ingress("named", ["named.test"], { className: "other" }),
      ingress("annotated", ["annotated.test"], { classAnnotation: "nginx" }),
      ingress("ghost", ["ghost.test"], { className: "ghost" }),
      ingress("ghost-annotation", ["ghost2.test"], { classAnnotation: "gone" }),
    ];
    const result = names(objects);
    expect(result.entries.map((e) => e.host)).toEqual(["annotated.test", "named.test"]);
    expect(reasons(result)).toEqual([
      "ghost.test: IngressClass ghost does not exist",
      "ghost2.test: IngressClass gone does not exist",
    ]);
  });

  it('the default class: none, one (the annotation must be exactly "true"), or two (no choice, as the API\'s admission)', () => {
    const base = minikubeIngressAddon().filter((o) => o.kind !== "IngressClass");
    const classless = ingress("shop", ["shop.test"]);
    expect(reasons(names([...base, ingressClass("nginx", "k8s.io/ingress-nginx"), classless]))).toEqual([
      "shop.test: the Ingress names no class and no IngressClass is the default",
    ]);
    const almost = ingressClass("nginx", "k8s.io/ingress-nginx");
    almost.metadata.annotations = { "ingressclass.kubernetes.io/is-default-class": "True" };
    expect(names([...base, almost, classless]).entries).toEqual([]);
    expect(
      names([...base, ingressClass("nginx", "k8s.io/ingress-nginx", { isDefault: true }), classless]).entries,
    ).toHaveLength(1);
    expect(
      reasons(
        names([
          ...base,
          ingressClass("nginx", "k8s.io/ingress-nginx", { isDefault: true }),
          ingressClass("traefik", "traefik.io/ingress-controller", { isDefault: true }),
          classless,
        ]),
      ),
    ).toEqual(["shop.test: the Ingress names no class and 2 IngressClasses are marked default (nginx, traefik)"]);
  });

  it("without hostPorts the controller's Service answers: its ClusterIP (the admission webhook's Service is not it)", () => {
    const result = names(addonWith(pod({ hostPorts: false }), ingress("shop", ["shop.test"])));
    expect(result.entries[0]!.address).toEqual({
      kind: "service-clusterip",
      ip: "10.96.200.10",
      ports: HTTP_AND_HTTPS,
      service: "ingress-nginx/ingress-nginx-controller",
    });
  });

  it("a LoadBalancer Service answers on its external IP, or on its ClusterIP until it has one", () => {
    const lb = (externalIP?: string) =>
      service("ingress-nginx-lb", {
        type: "LoadBalancer",
        clusterIP: "10.96.200.20",
        ...(externalIP ? { externalIP } : {}),
      });
    const withIp = names(addonWith(pod({ hostPorts: false }), lb("172.30.0.5"), ingress("shop", ["shop.test"])));
    expect(withIp.entries[0]!.address).toMatchObject({ kind: "service-external", ip: "172.30.0.5" });
    const waiting = names([
      ...addonWith(pod({ hostPorts: false }), lb(), ingress("shop", ["shop.test"])).filter(
        (o) => o.metadata.name !== "ingress-nginx-controller",
      ),
    ]);
    expect(waiting.entries[0]!.address).toMatchObject({ kind: "service-clusterip", ip: "10.96.200.20" });
  });

  it("a pod not yet on a node, ended, or terminating, does not count for hostPorts: the Service does until one is", () => {
    const pending = pod({ status: { phase: "Pending" } });
    expect(names(addonWith(pending, ingress("shop", ["shop.test"]))).entries[0]!.address.kind).toBe(
      "service-clusterip",
    );
    expect(
      names(addonWith(pod({ status: { ...running(), phase: "Failed" } }), ingress("shop", ["shop.test"]))).entries[0]!
        .address.kind,
    ).toBe("service-clusterip");
    const leaving = pod({});
    leaving.metadata.deletionTimestamp = createdAt(9);
    expect(names(addonWith(leaving, ingress("shop", ["shop.test"]))).entries[0]!.address.kind).toBe(
      "service-clusterip",
    );
  });

  it("several controller pods: a ready one first, then a running one, then by node address", () => {
    const a = nginxControllerPod("a", { status: running("192.168.49.3", false) });
    const b = nginxControllerPod("b", { status: running("192.168.49.4", true) });
    const c = nginxControllerPod("c", { status: { ...running("192.168.49.2", false), phase: "Pending" } });
    const result = names([...addonWith(a), b, c, ingress("shop", ["shop.test"])]);
    expect(result.entries[0]!.address.ip).toBe("192.168.49.4");
  });

  it("a hostNetwork controller answers on its container ports", () => {
    const onHost = pod({ hostPorts: false });
    onHost.spec.hostNetwork = true;
    expect(names(addonWith(onHost, ingress("shop", ["shop.test"]))).entries[0]!.address).toEqual({
      kind: "node-hostport",
      ip: "192.168.49.2",
      ports: HTTP_AND_HTTPS,
    });
  });

  it("two ingress-nginx installations are told apart by --controller-class", () => {
    const internal = nginxControllerPod("internal", {
      controllerClass: "k8s.io/internal-nginx",
      status: running("192.168.49.3"),
      labels: { ...NGINX_LABELS, "app.kubernetes.io/instance": "internal" },
    });
    const result = names([
      ...minikubeIngressAddon(),
      internal,
      ingressClass("internal", "k8s.io/internal-nginx"),
      ingress("public", ["public.test"]),
      ingress("private", ["private.test"], { className: "internal" }),
    ]);
    expect(result.entries.map((e) => `${e.host} ${e.address.ip}`)).toEqual([
      "private.test 192.168.49.3",
      "public.test 192.168.49.2",
    ]);
    // Two places that answer: forward mode gives each its own loopback address.
    expect(new Set(result.entries.map((e) => addressKey(e.address))).size).toBe(2);
  });

  it("Traefik behind a LoadBalancer Service with web/websecure ports", () => {
    const labels = { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-kube-system" };
    const traefikPod: KubeObject = {
      kind: "Pod",
      metadata: { name: "traefik-1", namespace: "kube-system", labels },
      spec: {
        containers: [
          {
            name: "traefik",
            ports: [
              { name: "web", containerPort: 8000 },
              { name: "websecure", containerPort: 8443 },
            ],
          },
        ],
      },
      status: running(),
    };
    const result = names([
      ingressClass("traefik", "traefik.io/ingress-controller", { isDefault: true }),
      traefikPod,
      service("traefik", {
        namespace: "kube-system",
        type: "LoadBalancer",
        labels,
        selector: labels,
        ports: [
          { name: "web", port: 80 },
          { name: "websecure", port: 443 },
        ],
        externalIP: "10.96.0.50",
      }),
      ingress("whoami", ["whoami.test"]),
    ]);
    expect(result.entries[0]!.address).toEqual({
      kind: "service-external",
      ip: "10.96.0.50",
      ports: HTTP_AND_HTTPS,
      service: "kube-system/traefik",
    });
  });

  it("an unknown controller, or one with no pod, leaves its hosts unmapped with the reason", () => {
    const result = names([
      ingressClass("haproxy", "haproxy.org/ingress-controller/haproxy", { isDefault: true }),
      ingress("a", ["a.test"]),
      ingress("b", ["b.test"], { className: "nginx" }),
      ingressClass("nginx", "k8s.io/ingress-nginx"),
    ]);
    expect(reasons(result)).toEqual([
      "a.test: ingress controller haproxy.org/ingress-controller/haproxy is not one minikube-tunnel can find (it knows k8s.io/ingress-nginx, traefik.io/ingress-controller)",
      "b.test: no pod of ingress controller k8s.io/ingress-nginx found",
    ]);
  });

  it("a host that is not a host name is unmapped; an Ingress without hosts gives nothing", () => {
    const bad = ingress("bad", ["10.0.0.1", "ok.test"]);
    const catchAll = ingress("all", []);
    const result = names([...minikubeIngressAddon(), bad, catchAll]);
    expect(result.entries.map((e) => e.host)).toEqual(["ok.test"]);
    expect(reasons(result)).toEqual(["10.0.0.1: not a host name"]);
  });

  it("one host in two Ingresses: both entries, the oldest first, which is the one that resolves", () => {
    const result = names([
      ...minikubeIngressAddon(),
      ingress("newer", ["shop.test"], { created: createdAt(30) }),
      ingress("older", ["shop.test"], { created: createdAt(10), namespace: "kube-system" }),
    ]);
    expect(result.entries.map((e) => e.object)).toEqual(["kube-system/older", "default/newer"]);
    expect(firstPerHost(result.entries).map((e) => e.object)).toEqual(["kube-system/older"]);
  });
});
