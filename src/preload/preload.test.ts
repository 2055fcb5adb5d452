import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPreload } from "../../test-support/electron-fake/preload-context.js";
import { IPC_METHODS, IPC_PUSHES } from "../shared/ipc-channels.js";

const BUNDLE = join(import.meta.dirname, "..", "..", "dist", "preload", "preload.cjs");

describe("the preload, as bundled for the sandbox", () => {
  it("exposes exactly one method per channel and one subscription per push, all derived from the map, without bundling zod", async () => {
    const { window } = await loadPreload(BUNDLE);
    const api = window.tunnel as Record<string, unknown>;
    const expected = [...Object.values(IPC_METHODS), ...Object.values(IPC_PUSHES)].sort();
    expect(Object.keys(api).sort()).toEqual(expected);
    expect(Object.isFrozen(api)).toBe(true);
    expect((await readFile(BUNDLE, "utf8")).length).toBeLessThan(20_000);
  });

  it("each method invokes its own channel with the arguments; pushes reach subscribers until they unsubscribe", async () => {
    const { window, invoked, push, listeners } = await loadPreload(BUNDLE);
    const api = window.tunnel as Record<string, (...a: unknown[]) => unknown>;
    for (const [channel, method] of Object.entries(IPC_METHODS))
      expect(await api[method]!("arg")).toBe(`answer to ${channel}`);
    expect(invoked).toEqual(Object.keys(IPC_METHODS).map((channel) => [channel, "arg"]));
    const seen: unknown[] = [];
    const off = api.onState!((s: unknown) => seen.push(s)) as () => void;
    push("state:changed", { profiles: [] });
    off();
    push("state:changed", { profiles: ["late"] });
    expect(seen).toEqual([{ profiles: [] }]);
    expect(listeners.get("state:changed")?.size).toBe(0);
  });
});
