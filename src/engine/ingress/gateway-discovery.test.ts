import { describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/eventually.js";
import { discoveryOn, mapped, simulator } from "../../../test-support/kube-sim/ingress-discovery-setup.js";
import {
  applyAll,
  gateway,
  gatewayService,
  namespace,
  route,
} from "../../../test-support/kube-sim/network-fixtures.js";
import { GATEWAY_API_EXPERIMENTAL, GATEWAY_API_STANDARD } from "../../../test-support/kube-sim/resource-kinds.js";

const kinds = (d: { gatewayApi(): { kind: string }[] }) => d.gatewayApi().map((k) => k.kind);

describe("IngressDiscovery follows Gateway API (against the API simulator)", () => {
  it("CRDs installed while running are noticed; an accepted or not yet judged route's names appear, a refused one's go", async () => {
    const api = await simulator();
    const { discovery, logs } = await discoveryOn(api);
    expect(kinds(discovery)).toEqual([]);
    api.installCrds(GATEWAY_API_STANDARD);
    await eventually(() => kinds(discovery).length === 3, { timeoutMs: 5000, what: "the Gateway API watches" });
    expect(kinds(discovery)).toEqual(["Gateway", "HTTPRoute", "GRPCRoute"]);
    expect(logs.some((l) => l.startsWith("Gateway API: watching Gateway"))).toBe(true);
    applyAll(api, [
      gateway("gw", [{ name: "web", port: 80, protocol: "HTTP", hostname: "*.shop.test" }], {
        addresses: ["172.30.0.9"],
      }),
      route("HTTPRoute", "cart", [{ name: "gw" }], { hostnames: ["cart.shop.test", "cart.other.test"] }),
      route("GRPCRoute", "rpc", [{ name: "gw", accepted: true }], { hostnames: ["rpc.shop.test"] }),
    ]);
    await eventually(() => Object.keys(mapped(discovery)).length === 3, { timeoutMs: 5000, what: "three names" });
    expect(mapped(discovery)).toEqual({
      "*.shop.test": "service-external 172.30.0.9 80",
      "cart.shop.test": "service-external 172.30.0.9 80",
      "rpc.shop.test": "service-external 172.30.0.9 80",
    });
    expect(discovery.names().entries.find((e) => e.host === "*.shop.test")!.wildcard).toBe(true);
    applyAll(api, [route("HTTPRoute", "cart", [{ name: "gw", accepted: false }], { hostnames: ["cart.shop.test"] })]);
    await eventually(() => !mapped(discovery)["cart.shop.test"], { timeoutMs: 5000, what: "the refused route's name" });
  });

  it("TLSRoute, from the experimental channel installed later, is watched at its own version", async () => {
    const api = await simulator({ crds: GATEWAY_API_STANDARD });
    const { discovery } = await discoveryOn(api);
    expect(kinds(discovery)).toEqual(["Gateway", "HTTPRoute", "GRPCRoute"]);
    applyAll(api, [
      gateway("gw", [{ name: "tls", port: 443, protocol: "TLS", hostname: "*.db.test" }], {
        addresses: ["172.30.0.9"],
      }),
    ]);
    await eventually(() => mapped(discovery)["*.db.test"], { timeoutMs: 5000, what: "the listener's name" });
    api.installCrds(GATEWAY_API_EXPERIMENTAL);
    await eventually(() => kinds(discovery).includes("TLSRoute"), { timeoutMs: 5000, what: "the TLSRoute watch" });
    expect(discovery.gatewayApi().find((k) => k.kind === "TLSRoute")!.path).toBe(
      "/apis/gateway.networking.k8s.io/v1alpha2/tlsroutes",
    );
    applyAll(api, [route("TLSRoute", "pg", [{ name: "gw" }], { hostnames: ["pg.db.test"] })]);
    await eventually(() => mapped(discovery)["pg.db.test"] === "service-external 172.30.0.9 443", {
      timeoutMs: 5000,
      what: "the TLSRoute's name",
    });
    expect(discovery.names().entries.find((e) => e.host === "pg.db.test")!.address.ports).toEqual([
      { port: 443, protocol: "tls" },
    ]);
  });

  it("the address: the Service labelled with the Gateway's name until status.addresses says otherwise", async () => {
    const api = await simulator({ crds: GATEWAY_API_STANDARD });
    applyAll(api, [
      namespace("envoy-gateway-system"),
      gateway("gw", [{ name: "web", port: 80, protocol: "HTTP", hostname: "shop.test" }]),
    ]);
    const { discovery } = await discoveryOn(api);
    expect(discovery.names().unmapped.map((u) => u.host)).toEqual(["shop.test"]);
    applyAll(api, [gatewayService("gw", { namespace: "envoy-gateway-system", externalIP: "172.30.0.21" })]);
    await eventually(() => mapped(discovery)["shop.test"] === "service-external 172.30.0.21 80", {
      timeoutMs: 5000,
      what: "the Service's external IP",
    });
    applyAll(api, [
      gateway("gw", [{ name: "web", port: 80, protocol: "HTTP", hostname: "shop.test" }], {
        addresses: ["172.30.0.5"],
      }),
    ]);
    await eventually(() => mapped(discovery)["shop.test"] === "service-external 172.30.0.5 80", {
      timeoutMs: 5000,
      what: "the status address",
    });
  });

  it("CRDs removed: their names go and discovery waits for them again", async () => {
    const api = await simulator({ crds: [...GATEWAY_API_STANDARD, ...GATEWAY_API_EXPERIMENTAL] });
    applyAll(api, [
      gateway("gw", [{ name: "web", port: 80, protocol: "HTTP", hostname: "shop.test" }], {
        addresses: ["172.30.0.9"],
      }),
    ]);
    const { discovery } = await discoveryOn(api);
    expect(Object.keys(mapped(discovery))).toEqual(["shop.test"]);
    expect(discovery.stats().collections).toBe(9);
    api.removeCrds([...GATEWAY_API_STANDARD, ...GATEWAY_API_EXPERIMENTAL]);
    await eventually(() => discovery.names().entries.length === 0 && kinds(discovery).length === 0, {
      timeoutMs: 5000,
      what: "the names and the watches to go",
    });
    api.installCrds(GATEWAY_API_STANDARD);
    await eventually(() => kinds(discovery).length === 3, { timeoutMs: 5000, what: "the watches to come back" });
  });
});
