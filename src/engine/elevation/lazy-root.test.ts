import { describe, expect, it } from "vitest";
import { parseCidr } from "../../shared/cidr.js";
import type { Root } from "../root/index.js";
import { LazyRoot } from "./lazy-root.js";

function recordingRoot(calls: string[]): Root {
  const unused = async () => {
    throw new Error("not used here");
  };
  return {
    declare: async (d) => void calls.push(`declare ${d.profile}`),
    addRoutes: async (requests) =>
      requests.map((r) => (calls.push(`add ${r.destination.text}`), { kind: "added" as const })),
    removeRoutes: async (routes) =>
      routes.map((r) => (calls.push(`remove ${r.destination.text}`), { kind: "removed" as const })),
    cleanup: async () => (calls.push("cleanup"), { removed: [], failures: [], skippedAlive: 0 }),
    relay: unused,
    unrelay: unused,
    alias: unused,
    setHosts: unused,
    setDns: unused,
    dnsUnavailable: unused,
    close: async () => void calls.push("close"),
  };
}

describe("lazy root: one elevation per session", () => {
  it("starts the helper on first use only, and concurrent first uses share that one prompt", async () => {
    const calls: string[] = [];
    // The prompt stays open until all three uses have asked for root.
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const lazy = new LazyRoot(async () => {
      await answered;
      return recordingRoot(calls);
    });
    expect(lazy.started).toBe(false);
    const uses = Promise.all([
      lazy.declare({
        profile: "a",
        nodeIp: "192.168.49.2",
        cidrs: [],
        clusterDomain: "cluster.local",
        clusterDnsIp: "10.96.0.10",
      }),
      lazy.removeRoutes([{ destination: parseCidr("10.96.0.0/12"), gateway: "192.168.49.2", profile: "a" }]),
      lazy.cleanup(),
    ]);
    answer();
    await uses;
    await lazy.removeRoutes([{ destination: parseCidr("10.244.0.0/24"), gateway: "192.168.49.2", profile: "a" }]);
    expect(lazy.starts).toBe(1);
    expect(calls).toEqual(["declare a", "remove 10.96.0.0/12", "cleanup", "remove 10.244.0.0/24"]);
    await lazy.close();
    expect(calls.at(-1)).toBe("close");
  });

  it("a declined prompt is not remembered: the next use asks again", async () => {
    let attempt = 0;
    const lazy = new LazyRoot(async () => {
      attempt++;
      if (attempt === 1)
        throw new Error("Minikube Tunnel needs administrator rights to change routes, and the request was declined");
      return recordingRoot([]);
    });
    await expect(lazy.cleanup()).rejects.toThrow(/declined/);
    expect(lazy.started).toBe(false);
    await expect(lazy.cleanup()).resolves.toMatchObject({ removed: [] });
    expect(lazy.starts).toBe(2);
  });

  it("a helper that died is not kept: the next use starts (and elevates) a new one", async () => {
    const first = { ...recordingRoot([]), closed: false };
    let opens = 0;
    const lazy: LazyRoot = new LazyRoot(async () => (++opens === 1 ? first : recordingRoot([])));
    await lazy.cleanup();
    first.closed = true; // killed, or crashed
    await lazy.cleanup();
    expect(lazy.starts).toBe(2);
  });

  it("close before any use starts nothing", async () => {
    let opened = 0;
    const lazy = new LazyRoot(async () => (opened++, recordingRoot([])));
    await lazy.close();
    expect(opened).toBe(0);
  });
});
