import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError, type KubeHttp, type WatchLine } from "../../src/engine/kube/kube-http.js";
import { eventually } from "../eventually.js";
import { KubeSim } from "./kube-sim.js";
import { clientFor, lbService } from "./sim-client.js";

let sim: KubeSim;
let client: KubeHttp;
beforeAll(async () => {
  sim = await KubeSim.start({ bookmarkIntervalMs: 100, historyLimit: 50 });
  client = await clientFor(sim);
});
afterAll(() => sim.stop());

const path = (name: string, sub = "") => `/api/v1/namespaces/default/services/${name}${sub}`;
const status = (e: unknown) => (e instanceof KubeApiError ? e.status : -1);

/**
 * The events of one watch up to its end or to the first bookmark: the simulator sends a bookmark only
 * after what it had to replay, so what comes before one is the whole backlog.
 */
async function collectWatch(query: string): Promise<WatchLine[]> {
  const events: WatchLine[] = [];
  const abort = new AbortController();
  let bookmarked: () => void = () => undefined;
  const bookmark = new Promise<void>((resolve) => (bookmarked = resolve));
  const done = client
    .watch(
      `/api/v1/services?watch=1&allowWatchBookmarks=true&${query}`,
      (e) => (events.push(e), e.type === "BOOKMARK" && bookmarked()),
      abort.signal,
    )
    .catch(() => undefined);
  await Promise.race([done, bookmark]);
  abort.abort();
  await done;
  return events;
}
const withoutBookmarks = (events: WatchLine[]) => events.filter((e) => e.type !== "BOOKMARK");

describe("kube simulator protocol", () => {
  it("allocates ClusterIPs and NodePorts on create and rejects bad names and missing namespaces", async () => {
    const { body } = await client.call<Record<string, any>>(
      "POST",
      "/api/v1/namespaces/default/services",
      lbService("alloc"),
    );
    expect(body.spec.clusterIP).toMatch(/^10\.96\./);
    expect(body.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(body.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(
      status(await client.call("POST", "/api/v1/namespaces/default/services", lbService("Bad")).catch((e) => e)),
    ).toBe(422);
    expect(
      status(
        await client
          .call("POST", "/api/v1/namespaces/nope/services", lbService("x", { namespace: "nope" }))
          .catch((e) => e),
      ),
    ).toBe(404);
    expect(
      status(await client.call("POST", "/api/v1/namespaces/default/services", lbService("alloc")).catch((e) => e)),
    ).toBe(409);
  });

  it("status subresource: GET, PUT and three patch types change status only; the main resource ignores status", async () => {
    const { body: created } = await client.call<Record<string, any>>(
      "POST",
      "/api/v1/namespaces/default/services",
      lbService("st"),
    );
    const withStatus = {
      ...created,
      spec: { ...created.spec, type: "ClusterIP" },
      status: { loadBalancer: { ingress: [{ ip: "1.1.1.1" }] } },
    };
    const { body: put } = await client.call<Record<string, any>>("PUT", path("st", "/status"), withStatus);
    expect(put.spec.type).toBe("LoadBalancer");
    expect(put.status.loadBalancer.ingress).toEqual([{ ip: "1.1.1.1" }]);
    const { body: merged } = await client.call<Record<string, any>>(
      "PATCH",
      path("st", "/status"),
      { status: { loadBalancer: { ingress: [{ ip: "2.2.2.2", ipMode: "VIP" }] } } },
      "application/merge-patch+json",
    );
    expect(merged.status.loadBalancer.ingress).toEqual([{ ip: "2.2.2.2", ipMode: "VIP" }]);
    const { body: jsonPatched } = await client.call<Record<string, any>>(
      "PATCH",
      path("st", "/status"),
      [
        { op: "test", path: "/status/loadBalancer/ingress/0/ip", value: "2.2.2.2" },
        { op: "replace", path: "/status/loadBalancer/ingress/0/ip", value: "3.3.3.3" },
      ],
      "application/json-patch+json",
    );
    expect(jsonPatched.status.loadBalancer.ingress[0].ip).toBe("3.3.3.3");
    expect(
      status(
        await client
          .call(
            "PATCH",
            path("st", "/status"),
            [{ op: "test", path: "/status/loadBalancer/ingress/0/ip", value: "9.9.9.9" }],
            "application/json-patch+json",
          )
          .catch((e) => e),
      ),
    ).toBe(422);
    const { body: strategic } = await client.call<Record<string, any>>(
      "PATCH",
      path("st", "/status"),
      { status: { loadBalancer: { ingress: [{ ip: "4.4.4.4" }] } } },
      "application/strategic-merge-patch+json",
    );
    expect(strategic.status.loadBalancer.ingress).toEqual([{ ip: "4.4.4.4" }]);
    const { body: got } = await client.call<Record<string, any>>("GET", path("st", "/status"));
    expect(got.status.loadBalancer.ingress).toEqual([{ ip: "4.4.4.4" }]);
    const { body: mainPut } = await client.call<Record<string, any>>("PUT", path("st"), {
      ...got,
      status: { loadBalancer: {} },
    });
    expect(mainPut.status.loadBalancer.ingress).toEqual([{ ip: "4.4.4.4" }]);
  });

  it("a stale resourceVersion on PUT, or in a patch, is a 409", async () => {
    const { body } = await client.call<Record<string, any>>(
      "POST",
      "/api/v1/namespaces/default/services",
      lbService("stale"),
    );
    await client.call("PATCH", path("stale"), { metadata: { labels: { a: "b" } } }, "application/merge-patch+json");
    expect(status(await client.call("PUT", path("stale"), body).catch((e) => e))).toBe(409);
    expect(
      status(
        await client
          .call(
            "PATCH",
            path("stale", "/status"),
            { metadata: { resourceVersion: body.metadata.resourceVersion }, status: {} },
            "application/merge-patch+json",
          )
          .catch((e) => e),
      ),
    ).toBe(409);
  });

  it("leaving LoadBalancer clears status.loadBalancer; loadBalancerClass cannot change while LoadBalancer", async () => {
    await client.call(
      "POST",
      "/api/v1/namespaces/default/services",
      lbService("cls", { spec: { loadBalancerClass: "a/b" } }),
    );
    await client.call(
      "PATCH",
      path("cls", "/status"),
      { status: { loadBalancer: { ingress: [{ ip: "5.5.5.5" }] } } },
      "application/merge-patch+json",
    );
    expect(
      status(
        await client
          .call("PATCH", path("cls"), { spec: { loadBalancerClass: "c/d" } }, "application/merge-patch+json")
          .catch((e) => e),
      ),
    ).toBe(422);
    const { body } = await client.call<Record<string, any>>(
      "PATCH",
      path("cls"),
      { spec: { type: "ClusterIP", loadBalancerClass: null } },
      "application/merge-patch+json",
    );
    expect(body.status.loadBalancer).toEqual({});
  });

  it("an ExternalName Service has no ClusterIP until it becomes another type, which allocates one; a set ClusterIP cannot change", async () => {
    const { body: ext } = await client.call<Record<string, any>>("POST", "/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "ext", namespace: "default" },
      spec: { type: "ExternalName", externalName: "example.invalid" },
    });
    expect(ext.spec.clusterIP).toBeUndefined();
    const { body } = await client.call<Record<string, any>>(
      "PATCH",
      path("ext"),
      { spec: { type: "ClusterIP", externalName: null, clusterIP: "10.96.0.77", ports: [{ port: 80 }] } },
      "application/merge-patch+json",
    );
    expect(body.spec).toMatchObject({ type: "ClusterIP", clusterIP: "10.96.0.77", clusterIPs: ["10.96.0.77"] });
    expect(body.spec.externalName).toBeUndefined();
    expect(
      status(
        await client
          .call(
            "PATCH",
            path("ext"),
            { spec: { clusterIP: "10.96.0.78", clusterIPs: ["10.96.0.78"] } },
            "application/merge-patch+json",
          )
          .catch((e) => e),
      ),
    ).toBe(422);
  });

  it("watch: synthetic ADDED without a version, history after a version, bookmarks, and 410 once history is compacted", async () => {
    const { body: list } = await client.call<Record<string, any>>("GET", "/api/v1/services");
    const listed = list.items.length;
    const initial = await collectWatch("");
    expect(initial.filter((e) => e.type === "ADDED")).toHaveLength(listed);
    expect(initial.at(-1)?.type).toBe("BOOKMARK");
    const since = list.metadata.resourceVersion;
    await client.call("POST", "/api/v1/namespaces/default/services", lbService("later"));
    const resumed = withoutBookmarks(await collectWatch(`resourceVersion=${since}`));
    expect(resumed.map((e) => `${e.type}:${(e.object.metadata as { name: string }).name}`)).toEqual(["ADDED:later"]);
    sim.store.compact();
    // The 410 ends the stream: nothing is left to wait for.
    const expired = await collectWatch(`resourceVersion=${since}`);
    expect(expired).toEqual([
      { type: "ERROR", object: expect.objectContaining({ kind: "Status", code: 410, reason: "Expired" }) },
    ]);
    sim.faults.gone = "http";
    const error = await client
      .watch("/api/v1/services?watch=1&resourceVersion=1", () => undefined, new AbortController().signal)
      .catch((e) => e);
    sim.faults.gone = "off";
    expect(status(error)).toBe(410);
  });

  it("fault switches: 500s, 409s, latency and dropped watches", async () => {
    sim.faults.errorRate = 1;
    expect(status(await client.call("GET", "/api/v1/services").catch((e) => e))).toBe(500);
    sim.faults.errorRate = 0;
    sim.faults.conflictRate = 1;
    expect(
      status(
        await client
          .call("PATCH", path("later", "/status"), { status: {} }, "application/merge-patch+json")
          .catch((e) => e),
      ),
    ).toBe(409);
    sim.faults.conflictRate = 0;
    sim.faults.latencyMs = 60;
    const t = performance.now();
    await client.call("GET", "/api/v1/services");
    expect(performance.now() - t).toBeGreaterThanOrEqual(55);
    sim.faults.latencyMs = 0;
    const abort = new AbortController();
    const watches = sim.openWatches;
    const watching = client.watch("/api/v1/services?watch=1", () => undefined, abort.signal);
    await eventually(() => sim.openWatches > watches, { timeoutMs: 3000, what: "the watch to reach the simulator" });
    expect(sim.dropWatches()).toBeGreaterThanOrEqual(1);
    await expect(watching).rejects.toThrow();
  });
});
