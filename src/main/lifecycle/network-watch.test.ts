import { describe, expect, it, vi } from "vitest";
import { networkSignature, watchNetworkChanges } from "./network-watch.js";

const nic = (address: string, internal = false) => ({
  address,
  netmask: "255.255.255.0",
  family: "IPv4" as const,
  mac: "00:00:00:00:00:00",
  internal,
  cidr: `${address}/24`,
});

describe("network change watch", () => {
  it("the signature ignores loopback and order, and changes with an address", () => {
    const a = networkSignature({ lo: [nic("127.0.0.1", true)], eth0: [nic("192.168.1.5")], wlan0: [nic("10.0.0.7")] });
    expect(a).toBe("eth0=192.168.1.5/255.255.255.0,wlan0=10.0.0.7/255.255.255.0");
    expect(networkSignature({ wlan0: [nic("10.0.0.7")], eth0: [nic("192.168.1.5")] })).toBe(a);
    expect(networkSignature({ eth0: [nic("192.168.1.6")], wlan0: [nic("10.0.0.7")] })).not.toBe(a);
  });

  it("calls back once per change", () => {
    vi.useFakeTimers();
    try {
      const readings = ["a", "a", "b", "b", "c"];
      let changes = 0;
      const stop = watchNetworkChanges(
        () => changes++,
        5,
        () => readings.shift() ?? "c",
      );
      // Twelve readings: the four left and eight more of the last one, which is no change.
      vi.advanceTimersByTime(60);
      stop();
      expect(changes).toBe(2);
      expect(readings).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
