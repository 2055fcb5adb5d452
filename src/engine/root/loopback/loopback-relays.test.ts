import { afterEach, describe, expect, it } from "vitest";
import { LoopbackRelays } from "./loopback-relays.js";

/**
 * The helper's own user asking root for listeners: bounded per session, and
 * never on a port where local programs expect a system service. Port 0 (any
 * free port) keeps the count test free of root and of other tests' ports.
 */
describe("root's loopback relays for one session", () => {
  let relays: LoopbackRelays;
  afterEach(() => relays.closeAll());

  it("at most 64: the 65th is refused naming the limit and held nowhere; reopening one it holds is not another", async () => {
    relays = new LoopbackRelays(null);
    for (let i = 1; i <= 64; i++) await relays.open(`127.64.250.${i}`, 0, 18080);
    await expect(relays.open("127.64.250.65", 0, 18080)).rejects.toThrow(
      "refusing to relay 127.64.250.65:0: this client already holds 64 relayed ports, the most one session may",
    );
    await relays.open("127.64.250.1", 0, 18081);
    expect(await relays.close("127.64.250.65", 0)).toBe(false);
    expect(await relays.closeAll()).toBe(64);
  });

  it("concurrent opens count against the limit together", async () => {
    relays = new LoopbackRelays(null);
    const results = await Promise.allSettled(
      Array.from({ length: 70 }, (_, i) => relays.open(`127.64.251.${i + 1}`, 0, 18080)),
    );
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(6);
    expect(await relays.closeAll()).toBe(64);
  });

  it.each([22, 25, 53, 67, 68, 111, 123, 137, 138, 139, 445, 546, 547, 631])(
    "port %i, a system service's, is refused even on forward mode's loopback range, naming the port",
    async (port) => {
      relays = new LoopbackRelays(null);
      await expect(relays.open("127.64.0.9", port, 18080)).rejects.toThrow(
        new RegExp(`^refusing to relay 127\\.64\\.0\\.9:${port}: port ${port} \\([^)]+\\) is a system service's port`),
      );
      expect(await relays.closeAll()).toBe(0);
    },
  );
});
