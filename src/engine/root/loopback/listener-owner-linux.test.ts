import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenerOwnedBy, listenerUids } from "./listener-owner-linux.js";

// A /proc/net captured on a real machine (fixtures/SOURCES.md), laid out as proc(5) has it.
describe("who listens on a relay's target (/proc/net/tcp, tcp6)", () => {
  let procNet: string;
  beforeAll(async () => {
    procNet = await mkdtemp(join(tmpdir(), "mkt-procnet-"));
    await cp(join(import.meta.dirname, "fixtures", "proc-net-tcp.txt"), join(procNet, "tcp"));
    await cp(join(import.meta.dirname, "fixtures", "proc-net-tcp6.txt"), join(procNet, "tcp6"));
  });
  afterAll(() => rm(procNet, { recursive: true, force: true }));

  it("reads each listener's owner by address and port, wildcards included", async () => {
    expect(await listenerUids("127.64.0.5", 18080, procNet)).toEqual([1004]);
    expect(await listenerUids("127.64.0.9", 2024, procNet)).toEqual([0]);
    expect(await listenerUids("::1", 5353, procNet)).toEqual([65534]);
    expect(await listenerUids("127.64.0.5", 18081, procNet)).toEqual([]);
  });

  it("a relay target counts as the user's only when every listener there is theirs", async () => {
    expect(await listenerOwnedBy("127.64.0.5", 18080, 1004, procNet)).toBe(true);
    expect(await listenerOwnedBy("127.64.0.5", 18080, 65534, procNet)).toBe(false);
    expect(await listenerOwnedBy("127.64.0.5", 18081, 1004, procNet)).toBe(false);
  });
});
