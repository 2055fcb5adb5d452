import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCidr } from "../../shared/cidr.js";
import { entryFromJson, entryToJson } from "../../shared/tunnel-entry.js";
import { RegistryCorruptError, RegistryFile, resetRegistry } from "./registry-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mkt-reg-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sample = entryToJson({ destination: parseCidr("10.96.0.0/12"), gateway: "192.168.49.2", profile: "minikube", pid: 1, clusterDomain: "cluster.local", clusterDnsIp: "10.96.0.10", createdAt: "x" });

describe("RegistryFile", () => {
  it("treats a missing or empty file, and Go's null, as an empty registry", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    expect(await registry.read()).toEqual([]);
    await writeFile(registry.path, "");
    expect(await registry.read()).toEqual([]);
    await writeFile(registry.path, "null");
    expect(await registry.read()).toEqual([]);
  });

  it.each([
    ["truncated JSON", '[{"Route":', "not valid JSON"],
    ["an object instead of a list", '{"a":1}', "unexpected shape"],
    ["a bad mask", '[{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.96.0.0","Mask":"AA=="}},"MachineName":"m","Pid":1}]', "entry 0: mask"],
  ])("refuses %s with an error naming the file, and never rewrites it", async (_what, content, reason) => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    await writeFile(registry.path, content);
    const before = await stat(registry.path);
    await expect(registry.read()).rejects.toThrow(RegistryCorruptError);
    await expect(registry.read()).rejects.toThrow(`tunnel registry ${registry.path} cannot be read: ${reason}`);
    await expect(registry.update(async () => ({ entries: [sample], result: 1 }))).rejects.toThrow(RegistryCorruptError);
    expect(await readFile(registry.path, "utf8")).toBe(content);
    expect((await stat(registry.path)).mtimeMs).toBe(before.mtimeMs);
  });

  it("reset keeps the unreadable file byte for byte as a backup", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    await writeFile(registry.path, "{oops");
    const backup = await resetRegistry(registry);
    expect(backup).toMatch(/tunnels\.json\.corrupt-/);
    expect(await readFile(backup!, "utf8")).toBe("{oops");
    expect(await registry.read()).toEqual([]);
    expect(await resetRegistry(registry)).toBeNull();
  });

  it("keeps fields it does not model when rewriting", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    await writeFile(registry.path, JSON.stringify([{ ...sample, Future: "kept" }]));
    await registry.update(async (entries) => ({ entries: [...entries, { ...sample, Pid: 2 }], result: undefined }));
    const raw = JSON.parse(await readFile(registry.path, "utf8"));
    expect(raw[0].Future).toBe("kept");
    expect(raw).toHaveLength(2);
  });

  it("writes nothing when the change throws", async () => {
    const registry = new RegistryFile(join(dir, "tunnels.json"));
    await expect(registry.update(async () => { throw new Error("no"); })).rejects.toThrow("no");
    await expect(stat(registry.path)).rejects.toThrow();
  });

  it("4 processes x 200 register/unregister operations: nothing lost or duplicated, every read parses", async () => {
    const path = join(dir, "tunnels.json");
    const registry = new RegistryFile(path);
    const workers = [0, 1, 2, 3].map(
      (w) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../../../test-support/registry-worker.ts"), path, String(w), "200"], { stdio: ["ignore", "inherit", "inherit"] });
          child.on("exit", resolve);
        }),
    );
    let reads = 0;
    let done = false;
    const all = Promise.all(workers).finally(() => (done = true));
    while (!done) {
      await registry.read(); // throws, failing the test, if a reader ever sees a partial file
      reads++;
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await all).toEqual([0, 0, 0, 0]);
    const entries = (await registry.readJson()).map(entryFromJson);
    const keys = entries.map((e) => e.destination.text);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(400);
    for (let w = 0; w < 4; w++) for (let i = 1; i < 200; i += 2) expect(keys).toContain(`10.${w}.${i}.0/24`);
    expect(reads).toBeGreaterThan(10);
  }, 120_000);
});
