import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError, type KubeHttp, type WatchLine } from "../../src/engine/kube/kube-http.js";
import { eventually } from "../eventually.js";
import { KubeSim } from "./kube-sim.js";
import { applyAll, ingress, ingressClass, minikubeIngressAddon, nginxControllerPod } from "./network-fixtures.js";
import { GATEWAY_API_EXPERIMENTAL, GATEWAY_API_STANDARD } from "./resource-kinds.js";
import { clientFor } from "./sim-client.js";

let sim: KubeSim;
let client: KubeHttp;
beforeAll(async () => {
  sim = await KubeSim.start({ bookmarkIntervalMs: 100 });
  client = await clientFor(sim);
});
afterAll(() => sim.stop());

const status = (e: unknown) => (e instanceof KubeApiError ? e.status : -1);
const get = async <T = Record<string, any>>(path: string) => (await client.call<T>("GET", path)).body;
const GATEWAY_GROUP = "/apis/gateway.networking.k8s.io";

/** A watch's events until `until` holds for what arrived, then the watch is closed. */
async function watchUntil(path: string, until: (events: WatchLine[]) => boolean, act: () => void) {
  const events: WatchLine[] = [];
  const abort = new AbortController();
  const opened = sim.openWatches;
  const done = client.watch(path, (e) => events.push(e), abort.signal).catch(() => undefined);
  await eventually(() => sim.openWatches > opened, { what: "the watch to open" });
  act();
  await eventually(() => until(events.filter((e) => e.type !== "BOOKMARK")), { what: `events on ${path}` });
  abort.abort();
  await done;
  return events.filter((e) => e.type !== "BOOKMARK");
}
const names = (events: WatchLine[]) => events.map((e) => `${e.type}:${(e.object.metadata as { name: string }).name}`);

describe("kube simulator: networking.k8s.io and Gateway API", () => {
  it("serves networking.k8s.io/v1 in discovery, with Ingress's status subresource and IngressClass's lack of one", async () => {
    expect((await get("/apis")).groups.map((g: { name: string }) => g.name)).toEqual(["networking.k8s.io"]);
    expect((await get("/apis/networking.k8s.io")).preferredVersion).toEqual({
      groupVersion: "networking.k8s.io/v1",
      version: "v1",
    });
    const resources = (await get("/apis/networking.k8s.io/v1")).resources.map((r: { name: string }) => r.name);
    expect(resources).toEqual(["ingresses", "ingresses/status", "ingressclasses"]);
    expect((await get("/api/v1")).resources.map((r: { name: string }) => r.name)).toContain("pods/status");
    expect(status(await get("/apis/networking.k8s.io/v1/ingressclasses/x/status").catch((e) => e))).toBe(404);
  });

  it("Gateway API CRDs: absent (404), installed while running (standard, then experimental), removed again", async () => {
    expect(status(await get(GATEWAY_GROUP).catch((e) => e))).toBe(404);
    expect(status(await get(`${GATEWAY_GROUP}/v1/gateways`).catch((e) => e))).toBe(404);
    sim.installCrds(GATEWAY_API_STANDARD);
    expect((await get(GATEWAY_GROUP)).versions.map((v: { version: string }) => v.version)).toEqual(["v1"]);
    expect((await get(`${GATEWAY_GROUP}/v1`)).resources.map((r: { name: string }) => r.name)).toEqual([
      "gatewayclasses",
      "gatewayclasses/status",
      "gateways",
      "gateways/status",
      "httproutes",
      "httproutes/status",
      "grpcroutes",
      "grpcroutes/status",
    ]);
    sim.installCrds(GATEWAY_API_EXPERIMENTAL);
    const group = await get(GATEWAY_GROUP);
    expect(group.versions.map((v: { version: string }) => v.version)).toEqual(["v1", "v1alpha2"]);
    expect(group.preferredVersion.version).toBe("v1");
    expect((await get("/apis")).groups.map((g: { name: string }) => g.name)).toEqual([
      "networking.k8s.io",
      "gateway.networking.k8s.io",
    ]);
    const { body: created } = await client.call<Record<string, any>>(
      "POST",
      `${GATEWAY_GROUP}/v1/namespaces/default/gateways`,
      {
        metadata: { name: "gw" },
        spec: { gatewayClassName: "eg", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
        status: { addresses: [{ value: "1.2.3.4" }] },
      },
    );
    expect(created.apiVersion).toBe("gateway.networking.k8s.io/v1");
    expect(created.status.addresses).toBeUndefined();
    expect(created.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual([
      "Accepted=Unknown",
      "Programmed=Unknown",
    ]);
    const events = await watchUntil(
      `${GATEWAY_GROUP}/v1/gateways?watch=1&allowWatchBookmarks=true`,
      (e) => e.some((x) => x.type === "DELETED"),
      () => sim.removeCrds(GATEWAY_API_STANDARD),
    );
    expect(names(events)).toEqual(["ADDED:gw", "DELETED:gw"]);
    expect(status(await get(`${GATEWAY_GROUP}/v1/gateways`).catch((e) => e))).toBe(404);
    expect((await get(GATEWAY_GROUP)).versions.map((v: { version: string }) => v.version)).toEqual(["v1alpha2"]);
    sim.removeCrds(GATEWAY_API_EXPERIMENTAL);
  });

  it("Ingress: validated hosts, the default class admitted, status only through the subresource, generation on spec changes", async () => {
    expect(
      status(
        await client
          .call("POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", ingress("bad", ["Shop.test"]))
          .catch((e) => e),
      ),
    ).toBe(422);
    const [plain] = applyAll(sim, [ingress("before-default", ["a.test"])]);
    expect(plain!.spec.ingressClassName).toBeUndefined();
    applyAll(sim, [ingressClass("nginx", "k8s.io/ingress-nginx", { isDefault: true })]);
    const [admitted, annotated] = applyAll(sim, [
      ingress("after-default", ["b.test"]),
      ingress("annotated", ["c.test"], { classAnnotation: "other" }),
    ]);
    expect(admitted!.spec.ingressClassName).toBe("nginx");
    expect(annotated!.spec.ingressClassName).toBeUndefined();
    applyAll(sim, [ingressClass("second", "example.com/other", { isDefault: true })]);
    expect(
      status(
        await client
          .call("POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", ingress("two", ["d.test"]))
          .catch((e) => e),
      ),
    ).toBe(403);
    sim.store.delete("ingressclasses", null, "second");

    const path = "/apis/networking.k8s.io/v1/namespaces/default/ingresses/after-default";
    const { body: withStatus } = await client.call<Record<string, any>>(
      "PATCH",
      `${path}/status`,
      { status: { loadBalancer: { ingress: [{ ip: "192.168.49.2" }] } } },
      "application/merge-patch+json",
    );
    expect(withStatus.metadata.generation).toBe(1);
    const { body: relabelled } = await client.call<Record<string, any>>(
      "PATCH",
      path,
      { metadata: { labels: { a: "b" } }, status: { loadBalancer: {} } },
      "application/merge-patch+json",
    );
    expect(relabelled.metadata.generation).toBe(1);
    expect(relabelled.status.loadBalancer.ingress).toEqual([{ ip: "192.168.49.2" }]);
    const { body: respecced } = await client.call<Record<string, any>>(
      "PATCH",
      path,
      { spec: { rules: [{ host: "e.test" }] } },
      "application/merge-patch+json",
    );
    expect(respecced.metadata.generation).toBe(2);
  });

  it("label and field selectors on list and watch; a change across a selector reads as ADDED or DELETED", async () => {
    applyAll(sim, minikubeIngressAddon());
    applyAll(sim, [nginxControllerPod("unrelated", { namespace: "default", labels: { app: "web" } })]);
    const selector = encodeURIComponent(
      "app.kubernetes.io/name in (ingress-nginx,traefik),app.kubernetes.io/component",
    );
    const listed = await get(`/api/v1/pods?labelSelector=${selector}`);
    expect(listed.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([
      "ingress-nginx-controller-6f9f8c7d5-x2x8q",
    ]);
    expect(
      (await get(`/api/v1/pods?fieldSelector=status.phase%3DRunning,metadata.namespace!%3Dingress-nginx`)).items,
    ).toHaveLength(1);
    expect(status(await get(`/api/v1/pods?labelSelector=${encodeURIComponent("a in b")}`).catch((e) => e))).toBe(400);
    const events = await watchUntil(
      `/api/v1/pods?watch=1&allowWatchBookmarks=true&labelSelector=${selector}`,
      (e) => e.filter((x) => x.type === "ADDED").length >= 2 && e.some((x) => x.type === "DELETED"),
      () => {
        const pod = sim.store.get("pods", "default", "unrelated");
        const labelled = {
          ...pod,
          metadata: {
            ...pod.metadata,
            labels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/component": "x" },
          },
        };
        const updated = sim.store.update("pods", "default", "unrelated", labelled, null);
        sim.store.update(
          "pods",
          "default",
          "unrelated",
          { ...updated, metadata: { ...updated.metadata, labels: {} } },
          null,
        );
      },
    );
    expect(names(events)).toEqual([
      "ADDED:ingress-nginx-controller-6f9f8c7d5-x2x8q",
      "ADDED:unrelated",
      "DELETED:unrelated",
    ]);
    expect(events[0]!.object.apiVersion).toBe("v1");
  });

  it("bookmarks carry the group's apiVersion", async () => {
    const bookmark = await new Promise<WatchLine>((resolve) => {
      const abort = new AbortController();
      void client
        .watch(
          "/apis/networking.k8s.io/v1/ingresses?watch=1&allowWatchBookmarks=true&resourceVersion=" +
            sim.store.resourceVersion,
          (e) => {
            if (e.type === "BOOKMARK") {
              abort.abort();
              resolve(e);
            }
          },
          abort.signal,
        )
        .catch(() => undefined);
    });
    expect(bookmark.object).toMatchObject({ kind: "Ingress", apiVersion: "networking.k8s.io/v1" });
  });
});
