import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runQuitSequence } from "./quit-sequence.js";

function deps(stopAll: () => Promise<void>) {
  const calls: string[] = [];
  return { calls, deps: { stopAll, showProgress: () => calls.push("show"), hideProgress: () => calls.push("hide") } };
}
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("quit sequence", () => {
  // The stops take their time on a fake clock: the timings are exact, and nothing waits for real.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a quick stop shows no progress", async () => {
    const { calls, deps: d } = deps(() => wait(5));
    const result = runQuitSequence(d, { progressAfterMs: 200 });
    await vi.advanceTimersByTimeAsync(5);
    expect((await result).outcome).toBe("stopped");
    expect(calls).toEqual([]);
  });

  it("a slow stop shows progress, then hides it", async () => {
    const { calls, deps: d } = deps(() => wait(150));
    const quitting = runQuitSequence(d, { progressAfterMs: 30, timeoutMs: 2000 });
    await vi.advanceTimersByTimeAsync(30);
    expect(calls).toEqual(["show"]);
    await vi.advanceTimersByTimeAsync(120);
    const result = await quitting;
    expect(result.outcome).toBe("stopped");
    expect(calls).toEqual(["show", "hide"]);
  });

  it("a stop that never ends is cut off at the time limit, so the app still quits", async () => {
    const { deps: d } = deps(() => new Promise(() => undefined));
    const quitting = runQuitSequence(d, { progressAfterMs: 10, timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    const result = await quitting;
    expect(result.outcome).toBe("timed-out");
    expect(result.elapsedMs).toBeLessThan(1000);
  });

  it("a failing stop reports the error and still lets the app quit", async () => {
    const { deps: d } = deps(async () => {
      throw new Error("could not remove 10.96.0.0/12");
    });
    expect(await runQuitSequence(d)).toMatchObject({ outcome: "failed", error: "could not remove 10.96.0.0/12" });
  });
});
