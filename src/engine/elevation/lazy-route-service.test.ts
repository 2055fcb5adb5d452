import { describe, expect, it } from "vitest";
import { parseCidr } from "../../shared/cidr.js";
import { LazyRouteService, type PrivilegedRouteService } from "./lazy-route-service.js";

function recordingService(calls: string[]): PrivilegedRouteService {
  return {
    declare: async (profile) => void calls.push(`declare ${profile}`),
    addRoutes: async (requests) => requests.map((r) => (calls.push(`add ${r.destination.text}`), { kind: "added" as const })),
    removeRoutes: async (routes) => routes.map((r) => (calls.push(`remove ${r.destination.text}`), { kind: "removed" as const })),
    cleanup: async () => (calls.push("cleanup"), { removed: [], failures: [], skippedAlive: 0 }),
    close: async () => void calls.push("close"),
  };
}

describe("lazy route service: one elevation per session", () => {
  it("starts the helper on first use only, and concurrent first uses share that one prompt", async () => {
    const calls: string[] = [];
    const lazy = new LazyRouteService(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return recordingService(calls);
    });
    expect(lazy.started).toBe(false);
    await Promise.all([lazy.declare("a", "192.168.49.2", [], "cluster.local", "10.96.0.10"), lazy.removeRoutes([{ destination: parseCidr("10.96.0.0/12"), gateway: "192.168.49.2", profile: "a" }]), lazy.cleanup()]);
    await lazy.removeRoutes([{ destination: parseCidr("10.244.0.0/24"), gateway: "192.168.49.2", profile: "a" }]);
    expect(lazy.starts).toBe(1);
    expect(calls).toEqual(["declare a", "remove 10.96.0.0/12", "cleanup", "remove 10.244.0.0/24"]);
    await lazy.close();
    expect(calls.at(-1)).toBe("close");
  });

  it("a declined prompt is not remembered: the next use asks again", async () => {
    let attempt = 0;
    const lazy = new LazyRouteService(async () => {
      attempt++;
      if (attempt === 1) throw new Error("Minikube Tunnel needs administrator rights to change routes, and the request was declined");
      return recordingService([]);
    });
    await expect(lazy.cleanup()).rejects.toThrow(/declined/);
    expect(lazy.started).toBe(false);
    await expect(lazy.cleanup()).resolves.toMatchObject({ removed: [] });
    expect(lazy.starts).toBe(2);
  });

  it("a helper that died is not kept: the next use starts (and elevates) a new one", async () => {
    const first = { ...recordingService([]), closed: false };
    let opens = 0;
    const lazy: LazyRouteService = new LazyRouteService(async () => (++opens === 1 ? first : recordingService([])));
    await lazy.cleanup();
    first.closed = true; // killed, or crashed
    await lazy.cleanup();
    expect(lazy.starts).toBe(2);
  });

  it("close before any use starts nothing", async () => {
    let opened = 0;
    const lazy = new LazyRouteService(async () => (opened++, recordingService([])));
    await lazy.close();
    expect(opened).toBe(0);
  });
});
