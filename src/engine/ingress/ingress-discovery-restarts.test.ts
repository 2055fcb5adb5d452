import { describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/eventually.js";
import { discoveryOn, mapped, simulator } from "../../../test-support/kube-sim/ingress-discovery-setup.js";
import {
  applyAll,
  gateway,
  ingress,
  minikubeIngressAddon,
  remove,
} from "../../../test-support/kube-sim/network-fixtures.js";
import { GATEWAY_API_STANDARD } from "../../../test-support/kube-sim/resource-kinds.js";

describe("IngressDiscovery follows a cluster that restarts", () => {
  it("API back on a new port with a rewritten kubeconfig: changes made across the restart are all followed", async () => {
    const api = await simulator();
    const [, , , , , before] = applyAll(api, [...minikubeIngressAddon(), ingress("before", ["before.test"])]);
    const { discovery, logs } = await discoveryOn(api);
    expect(Object.keys(mapped(discovery))).toEqual(["before.test"]);
    const oldUrl = api.url;
    await api.restart();
    expect(api.url).not.toBe(oldUrl);
    remove(api, before!);
    applyAll(api, [ingress("after", ["after.test"])]);
    api.installCrds(GATEWAY_API_STANDARD);
    applyAll(api, [
      gateway("gw", [{ name: "web", port: 80, protocol: "HTTP", hostname: "gw.test" }], { addresses: ["172.30.0.9"] }),
    ]);
    await eventually(() => Object.keys(mapped(discovery)).join() === "after.test,gw.test", {
      timeoutMs: 15_000,
      what: "the Ingress and Gateway names made across the restart",
    });
    expect(logs.some((l) => l.includes("reading everything again"))).toBe(true);
  });

  it("a watch expired (410 in the stream) lists again and misses nothing", async () => {
    const api = await simulator();
    applyAll(api, minikubeIngressAddon());
    const { discovery } = await discoveryOn(api);
    const lists = discovery.stats().lists;
    api.store.compact();
    api.expireWatches();
    applyAll(api, [ingress("late", ["late.test"])]);
    await eventually(() => mapped(discovery)["late.test"], { timeoutMs: 5000, what: "the Ingress after a relist" });
    await eventually(() => discovery.stats().lists >= lists + 4, { timeoutMs: 5000, what: "every watch to relist" });
  });
});
