import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryFile } from "../registry/registry-file.js";
import { fileAccessFor } from "./files/guarded-files.js";
import type { NamesWriter } from "./names/names-writer.js";
import { NO_ALLOWANCES } from "./policy/allowances.js";
import { RootSession, type RootSessionDeps } from "./root-session.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A names writer with one stale hosts block and one stale resolver setting, each found once: the first look takes them. */
function staleNames(): { writer: NamesWriter; looks: () => number } {
  let left = ["hosts block of minikube", "mkt0 (minikube)"];
  let looks = 0;
  const writer = {
    removeStale: async () => {
      looks++;
      const found = left;
      left = [];
      return found;
    },
  };
  return { writer: writer as unknown as NamesWriter, looks: () => looks };
}

async function session(names: NamesWriter): Promise<RootSession> {
  const dir = await mkdtemp(join(tmpdir(), "mkt-root-cleanup-"));
  dirs.push(dir);
  return new RootSession({
    table: { list: async () => [] },
    registry: new RegistryFile(join(dir, "tunnels.json"), { settleMs: 0, files: fileAccessFor(dir) }),
    registrar: {},
    user: { uid: 0, gid: 0 },
    relayTargetOwner: null,
    allowances: NO_ALLOWANCES,
    operator: true,
    runtimeDir: null,
    names,
    log: () => undefined,
  } as unknown as RootSessionDeps);
}

describe("what a root session took back when it started is in the first cleanup's answer", () => {
  it("names a crashed tunnel left, taken back as the session started (root in this process), are reported by `cleanup`, once", async () => {
    const { writer, looks } = staleNames();
    const root = await session(writer);
    await root.reclaimOrphans();
    expect(looks()).toBe(1);
    const first = await root.cleanup();
    expect(first.names).toEqual(["hosts block of minikube", "mkt0 (minikube)"]);
    expect((await root.cleanup()).names).toEqual([]);
  });

  it("a cleanup with nothing taken back at start reports what it finds itself", async () => {
    const root = await session(staleNames().writer);
    expect((await root.cleanup()).names).toEqual(["hosts block of minikube", "mkt0 (minikube)"]);
  });
});
