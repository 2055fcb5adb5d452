import { afterEach, describe, expect, it, vi } from "vitest";
import { type KubeApi, KubeApiError, type KubeResponse } from "../kube/kube-http.js";
import { type GatewayApiKind, GatewayApiPoller, type ServedKind, servedGatewayKinds } from "./gateway-api-kinds.js";

/** Discovery answers from a table of group versions and their resources; everything else is a 404. */
function fakeApi(served: Record<string, string[]>, calls: string[] = []): KubeApi {
  return {
    async call<T>(_method: string, path: string): Promise<KubeResponse<T>> {
      calls.push(path);
      const versions = Object.keys(served);
      if (path === "/apis/gateway.networking.k8s.io" && versions.length > 0)
        return {
          status: 200,
          body: {
            versions: versions.map((version) => ({ version })),
            preferredVersion: { version: versions[0] },
          } as T,
        };
      const version = path.split("/")[3];
      if (version && served[version] && path === `/apis/gateway.networking.k8s.io/${version}`)
        return { status: 200, body: { resources: served[version].map((name) => ({ name })) } as T };
      throw new KubeApiError(404, "NotFound", `${path}: 404`);
    },
    watch: () => Promise.resolve(),
  };
}

const summary = (kinds: Map<GatewayApiKind, ServedKind>) => Object.fromEntries([...kinds].map(([k, s]) => [k, s.path]));

describe("which Gateway API kinds the cluster serves", () => {
  it("none without the CRDs; each kind at the preferred version that serves it", async () => {
    expect((await servedGatewayKinds(fakeApi({}))).size).toBe(0);
    const kinds = await servedGatewayKinds(
      fakeApi({
        v1: ["gatewayclasses", "gateways", "gateways/status", "httproutes", "grpcroutes"],
        v1beta1: ["gateways", "httproutes", "referencegrants"],
        v1alpha2: ["tlsroutes", "tcproutes", "grpcroutes"],
      }),
    );
    expect(summary(kinds)).toEqual({
      Gateway: "/apis/gateway.networking.k8s.io/v1/gateways",
      HTTPRoute: "/apis/gateway.networking.k8s.io/v1/httproutes",
      GRPCRoute: "/apis/gateway.networking.k8s.io/v1/grpcroutes",
      TLSRoute: "/apis/gateway.networking.k8s.io/v1alpha2/tlsroutes",
    });
  });

  it("an error other than 404 is an error, not an empty answer", async () => {
    const api: KubeApi = {
      call: () => Promise.reject(new KubeApiError(500, "InternalError", "boom")),
      watch: () => Promise.resolve(),
    };
    await expect(servedGatewayKinds(api)).rejects.toThrow("boom");
  });
});

describe("GatewayApiPoller: at most one discovery poll per interval", () => {
  afterEach(() => vi.useRealTimers());

  it("polls once a minute while kinds are missing, stops once all are served, and a wake waits for the minute", async () => {
    vi.useFakeTimers();
    const served: Record<string, string[]> = {};
    const calls: string[] = [];
    const seen: number[] = [];
    const poller = new GatewayApiPoller(fakeApi(served, calls), {
      onKinds: (kinds) => seen.push(kinds.size),
      onError: (error) => {
        throw error;
      },
    });
    poller.start();
    await poller.firstPoll;
    expect(poller.polls).toBe(1);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(poller.polls).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(poller.polls).toBe(2);
    // The standard channel, then the experimental one a while later.
    served.v1 = ["gateways", "httproutes", "grpcroutes"];
    await vi.advanceTimersByTimeAsync(60_000);
    expect(seen.at(-1)).toBe(3);
    served.v1alpha2 = ["tlsroutes"];
    await vi.advanceTimersByTimeAsync(60_000);
    expect(seen.at(-1)).toBe(4);
    const complete = poller.polls;
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(poller.polls).toBe(complete);
    // A watch answered 404 (the CRDs were removed): poll again, but not before a minute after the last poll.
    delete served.v1;
    delete served.v1alpha2;
    poller.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(poller.polls).toBe(complete + 1);
    expect(seen.at(-1)).toBe(0);
    poller.wake();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(poller.polls).toBe(complete + 1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(poller.polls).toBe(complete + 2);
    await poller.stop();
    expect(calls.every((c) => c.startsWith("/apis/gateway.networking.k8s.io"))).toBe(true);
  });
});
