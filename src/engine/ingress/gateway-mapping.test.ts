import { describe, expect, it } from "vitest";
import { clusterObjects } from "../../../test-support/kube-sim/ingress-views.js";
import {
  type ListenerSpec,
  type ParentSpec,
  gateway,
  gatewayService,
  route,
} from "../../../test-support/kube-sim/network-fixtures.js";
import type { KubeObject } from "../../../test-support/kube-sim/object-store.js";
import { mapNames } from "./cluster-names.js";
import { INGRESS_CONTROLLERS } from "./controller-catalog.js";
import type { IngressNames } from "./name-types.js";

const names = (objects: readonly KubeObject[]): IngressNames => mapNames(clusterObjects(objects), INGRESS_CONTROLLERS);
const hosts = (n: IngressNames) => n.entries.map((e) => e.host);
const http = (name: string, hostname?: string, extra: Partial<ListenerSpec> = {}): ListenerSpec => ({
  name,
  port: 80,
  protocol: "HTTP",
  ...(hostname ? { hostname } : {}),
  ...extra,
});
const gw = (listeners: ListenerSpec[], options: Parameters<typeof gateway>[2] = {}) =>
  gateway("gw", listeners, { addresses: ["172.30.0.9"], ...options });
const httpRoute = (name: string, hostnames: string[] | undefined, parents: ParentSpec[] = [{ name: "gw" }]) =>
  route("HTTPRoute", name, parents, hostnames ? { hostnames } : {});

describe("Gateway listener and route hostnames → the Gateway's address", () => {
  it("listener hostnames are names; HTTP and HTTPS listeners of one hostname give one name with both ports", () => {
    const result = names([
      gw([
        http("http", "shop.test"),
        { name: "https", port: 443, protocol: "HTTPS", hostname: "shop.test" },
        http("any"),
        { name: "tcp", port: 5432, protocol: "TCP", hostname: "db.test" },
      ]),
    ]);
    expect(result.entries).toEqual([
      {
        host: "shop.test",
        source: "gateway",
        object: "default/gw",
        wildcard: false,
        address: {
          kind: "service-external",
          ip: "172.30.0.9",
          ports: [
            { port: 80, protocol: "http" },
            { port: 443, protocol: "https" },
          ],
        },
      },
    ]);
  });

  it("a route counts when status.parents accepts it, or names the Gateway with no status yet; not when refused", () => {
    const result = names([
      gw([http("http")]),
      httpRoute("accepted", ["a.test"], [{ name: "gw", accepted: true }]),
      httpRoute("pending", ["p.test"]),
      httpRoute("refused", ["r.test"], [{ name: "gw", accepted: false }]),
      httpRoute("elsewhere", ["e.test"], [{ name: "other-gw" }]),
      httpRoute(
        "refused-here-accepted-there",
        ["x.test"],
        [
          { name: "gw", sectionName: "http", accepted: false },
          { name: "gw", accepted: true },
        ],
      ),
    ]);
    expect(hosts(result)).toEqual(["a.test", "p.test", "x.test"]);
    expect(result.entries[0]!.via).toEqual(["HTTPRoute default/accepted"]);
  });

  it("sectionName and port pick listeners; the name gets only the ports of listeners it reached", () => {
    const result = names([
      gw([http("web", "*.shop.test"), { name: "secure", port: 443, protocol: "HTTPS", hostname: "*.shop.test" }]),
      httpRoute("only-secure", ["pay.shop.test"], [{ name: "gw", sectionName: "secure" }]),
      httpRoute("by-port", ["cart.shop.test"], [{ name: "gw", port: 80 }]),
      httpRoute("both", ["www.shop.test"]),
    ]);
    const ports = Object.fromEntries(result.entries.map((e) => [e.host, e.address.ports.map((p) => p.port)]));
    expect(ports).toEqual({
      "*.shop.test": [80, 443],
      "cart.shop.test": [80],
      "pay.shop.test": [443],
      "www.shop.test": [80, 443],
    });
  });

  it("route hostnames intersect the listener's as the spec's table says", () => {
    const result = names([
      gw([
        http("wild", "*.example.com"),
        http("precise", "www.example.org", { port: 8080 }),
        http("wide", "*.com", { port: 8081 }),
      ]),
      httpRoute(
        "r1",
        ["sub.domain.example.com", "example.com", "test.example.net"],
        [{ name: "gw", sectionName: "wild" }],
      ),
      httpRoute("r2", ["*.example.org"], [{ name: "gw", sectionName: "precise" }]),
      httpRoute("r3", ["*.example.com"], [{ name: "gw", sectionName: "wide" }]),
      httpRoute("r4", undefined, [{ name: "gw", sectionName: "precise" }]),
    ]);
    expect(
      result.entries.map((e) => `${e.host} ${e.address.ports.map((p) => p.port).join(",")} ${e.via ?? ""}`),
    ).toEqual([
      "*.com 8081 ",
      "*.example.com 80,8081 HTTPRoute default/r3",
      "sub.domain.example.com 80 HTTPRoute default/r1",
      "www.example.org 8080 HTTPRoute default/r2,HTTPRoute default/r4",
    ]);
    expect(result.entries.filter((e) => e.wildcard).map((e) => e.host)).toEqual(["*.com", "*.example.com"]);
  });

  it("a listener without hostname: the routes' hostnames; a route without either gives no name", () => {
    const result = names([gw([http("any")]), httpRoute("named", ["shop.test"]), httpRoute("catch-all", undefined)]);
    expect(hosts(result)).toEqual(["shop.test"]);
  });

  it("TLS listeners take TLSRoutes (served as tls), HTTP/HTTPS listeners HTTP and GRPC routes; allowedRoutes.kinds narrows", () => {
    const result = names([
      gw([
        { name: "tls", port: 443, protocol: "TLS", hostname: "*.secure.test" },
        http("http", "*.web.test", { allowedRoutes: { kinds: [{ kind: "GRPCRoute" }] } }),
      ]),
      route("TLSRoute", "db", [{ name: "gw" }], { hostnames: ["db.secure.test"] }),
      route("HTTPRoute", "page", [{ name: "gw" }], { hostnames: ["page.secure.test", "page.web.test"] }),
      route("GRPCRoute", "rpc", [{ name: "gw" }], { hostnames: ["rpc.web.test"] }),
    ]);
    expect(result.entries.map((e) => `${e.host} ${e.address.ports.map((p) => p.protocol).join(",")}`)).toEqual([
      "*.secure.test tls",
      "*.web.test http",
      "db.secure.test tls",
      "rpc.web.test http",
    ]);
  });

  it("allowedRoutes.namespaces: Same (the default) keeps out an unjudged route of another namespace; All lets it in", () => {
    const other = (name: string, section: string) =>
      route("HTTPRoute", name, [{ name: "gw", namespace: "default", sectionName: section }], {
        namespace: "team",
        hostnames: [`${name}.test`],
      });
    const result = names([
      gw([
        http("same", undefined),
        http("all", undefined, { port: 81, allowedRoutes: { namespaces: { from: "All" } } }),
      ]),
      other("blocked", "same"),
      other("allowed", "all"),
    ]);
    expect(hosts(result)).toEqual(["allowed.test"]);
  });

  it("no status address: the external IP of the Service labelled with the Gateway's name, its own namespace first", () => {
    const listeners = [http("http", "shop.test")];
    const elsewhere = gatewayService("gw", { namespace: "envoy-gateway-system", externalIP: "172.30.0.21" });
    const local = gatewayService("gw", { externalIP: "172.30.0.22" });
    expect(names([gw(listeners, { addresses: [] }), elsewhere]).entries[0]!.address).toEqual({
      kind: "service-external",
      ip: "172.30.0.21",
      ports: [{ port: 80, protocol: "http" }],
      service: "envoy-gateway-system/envoy-gw",
    });
    expect(names([gw(listeners, { addresses: [] }), elsewhere, local]).entries[0]!.address.ip).toBe("172.30.0.22");
    const noIpYet = gatewayService("gw", { clusterIP: "10.96.7.7" });
    expect(names([gw(listeners, { addresses: [] }), noIpYet]).entries[0]!.address).toMatchObject({
      kind: "service-clusterip",
      ip: "10.96.7.7",
    });
  });

  it("an IPv4 status address before an IPv6 one; no address, or a Gateway refused by its class, leaves names unmapped", () => {
    const dual = names([gw([http("h", "shop.test")], { addresses: ["fd00::9", "172.30.0.9"] })]);
    expect(dual.entries[0]!.address.ip).toBe("172.30.0.9");
    const none = names([gw([http("h", "shop.test")], { addresses: [] })]);
    expect(none.unmapped).toEqual([
      {
        host: "shop.test",
        source: "gateway",
        object: "default/gw",
        wildcard: false,
        reason:
          "the Gateway has no address yet (no status.addresses, no Service labelled gateway.networking.k8s.io/gateway-name=gw)",
      },
    ]);
    const refused = names([gw([http("h", "shop.test")], { accepted: false })]);
    expect(refused.unmapped.map((u) => u.reason)).toEqual(["the Gateway is not accepted: unsupported listener"]);
  });

  it("two Gateways of the same name in two namespaces keep their own routes and addresses", () => {
    const a = gateway("gw", [http("h")], { namespace: "a", addresses: ["172.30.0.1"] });
    const b = gateway("gw", [http("h")], { namespace: "b", addresses: ["172.30.0.2"] });
    const result = names([
      a,
      b,
      route("HTTPRoute", "ra", [{ name: "gw" }], { namespace: "a", hostnames: ["a.test"] }),
      route("HTTPRoute", "rb", [{ name: "gw" }], { namespace: "b", hostnames: ["b.test"] }),
    ]);
    expect(result.entries.map((e) => `${e.host} ${e.object} ${e.address.ip}`)).toEqual([
      "a.test a/gw 172.30.0.1",
      "b.test b/gw 172.30.0.2",
    ]);
  });
});
