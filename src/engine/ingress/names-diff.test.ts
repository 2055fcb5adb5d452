import { afterEach, describe, expect, it, vi } from "vitest";
import { Coalescer } from "./coalescer.js";
import type { HostEntry, IngressNames } from "./name-types.js";
import { diffNames, isEmptyDiff, unmappedChanged } from "./names-diff.js";

const entry = (host: string, ip = "192.168.49.2", extra: Partial<HostEntry> = {}): HostEntry => ({
  host,
  source: "ingress",
  object: "default/shop",
  wildcard: false,
  address: { kind: "node-hostport", ip, ports: [{ port: 80, protocol: "http" }] },
  ...extra,
});
const state = (entries: HostEntry[], unmapped: IngressNames["unmapped"] = []): IngressNames => ({ entries, unmapped });

describe("the difference between two states of a profile's names", () => {
  it("added, removed, and changed (same host, source and object; another address, ports or routes)", () => {
    const before = state([entry("a.test"), entry("b.test"), entry("c.test"), entry("d.test")]);
    const after = state([
      entry("b.test"),
      entry("c.test", "10.96.0.5"),
      entry("d.test", undefined, { via: ["HTTPRoute default/r"] }),
      entry("e.test"),
      entry("a.test", undefined, { object: "default/other" }),
    ]);
    const diff = diffNames(before, after);
    expect(diff.added.map((e) => `${e.host} ${e.object}`)).toEqual(["e.test default/shop", "a.test default/other"]);
    expect(diff.removed.map((e) => `${e.host} ${e.object}`)).toEqual(["a.test default/shop"]);
    expect(diff.changed.map((c) => [c.before.host, c.after.address.ip])).toEqual([
      ["c.test", "10.96.0.5"],
      ["d.test", "192.168.49.2"],
    ]);
    expect(isEmptyDiff(diffNames(after, after))).toBe(true);
  });

  it("notices a new reason for an unmapped name", () => {
    const why = (reason: string) => [
      { host: "x.test", source: "ingress" as const, object: "default/x", wildcard: false, reason },
    ];
    expect(unmappedChanged(state([], why("a")), state([], why("a")))).toBe(false);
    expect(unmappedChanged(state([], why("a")), state([], why("b")))).toBe(true);
    expect(unmappedChanged(state([], why("a")), state([]))).toBe(true);
  });
});

describe("Coalescer: one run per burst, never later than the delay after the burst's first change", () => {
  afterEach(() => vi.useRealTimers());

  it("runs once for a burst, and a steady stream of pokes cannot postpone it", () => {
    vi.useFakeTimers();
    let runs = 0;
    const coalescer = new Coalescer(100, () => runs++);
    for (let i = 0; i < 50; i++) {
      coalescer.poke();
      vi.advanceTimersByTime(1);
    }
    expect(runs).toBe(0);
    vi.advanceTimersByTime(50);
    expect(runs).toBe(1);
    expect(coalescer.pending).toBe(false);
    coalescer.poke();
    vi.advanceTimersByTime(99);
    expect(runs).toBe(1);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(2);
    coalescer.poke();
    coalescer.cancel();
    vi.advanceTimersByTime(1000);
    expect(runs).toBe(2);
  });
});
