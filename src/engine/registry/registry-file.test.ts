import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bundled } from "../../../test-support/bundles.js";
import { eventually } from "../../../test-support/eventually.js";
import { parseCidr } from "../../shared/cidr.js";
import { entryFromJson, entryToJson } from "../../shared/tunnel-entry.js";
import { RegistryCorruptError, resetRegistry } from "./registry-file.js";
import { registryAt } from "../../../test-support/registry-at.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mkt-reg-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const sample = entryToJson({
  destination: parseCidr("10.96.0.0/12"),
  gateway: "192.168.49.2",
  profile: "minikube",
  pid: 1,
  clusterDomain: "cluster.local",
  clusterDnsIp: "10.96.0.10",
  createdAt: "x",
});

describe("RegistryFile", () => {
  it("treats a missing or empty file, and Go's null, as an empty registry", async () => {
    const registry = registryAt(join(dir, "tunnels.json"), { settleMs: 50 });
    expect(await registry.read()).toEqual([]);
    await writeFile(registry.path, "");
    expect(await registry.read()).toEqual([]);
    await writeFile(registry.path, "null");
    expect(await registry.read()).toEqual([]);
  });

  it("a registry whose folder does not exist yet is empty under its lock, and a write there still fails", async () => {
    const registry = registryAt(join(dir, "no-minipath", "tunnels.json"), { settleMs: 50 });
    expect(await registry.locked((tx) => tx.read())).toEqual([]);
    expect(await registry.update((entries) => ({ entries, result: "unchanged" }))).toBe("unchanged");
    await expect(registry.update(() => ({ entries: [sample], result: 1 }))).rejects.toThrow(/ENOENT|does not exist/);
    await expect(stat(join(dir, "no-minipath"))).rejects.toThrow(/ENOENT/);
  });

  it.each([
    ["truncated JSON", '[{"Route":', "not valid JSON"],
    ["an object instead of a list", '{"a":1}', "unexpected shape"],
    [
      "a bad mask",
      '[{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.96.0.0","Mask":"AA=="}},"MachineName":"m","Pid":1}]',
      "entry 0: mask",
    ],
  ])("refuses %s with an error naming the file, and never rewrites it", async (_what, content, reason) => {
    const registry = registryAt(join(dir, "tunnels.json"), { settleMs: 50 });
    await writeFile(registry.path, content);
    const before = await stat(registry.path);
    await expect(registry.read()).rejects.toThrow(RegistryCorruptError);
    await expect(registry.read()).rejects.toThrow(`tunnel registry ${registry.path} cannot be read: ${reason}`);
    await expect(registry.update(() => ({ entries: [sample], result: 1 }))).rejects.toThrow(RegistryCorruptError);
    expect(await readFile(registry.path, "utf8")).toBe(content);
    expect((await stat(registry.path)).mtimeMs).toBe(before.mtimeMs);
  });

  it("reset keeps the unreadable file byte for byte as a backup", async () => {
    const registry = registryAt(join(dir, "tunnels.json"), { settleMs: 50 });
    await writeFile(registry.path, "{oops");
    const backup = await resetRegistry(registry);
    expect(backup).toMatch(/tunnels\.json\.corrupt-/);
    expect(await readFile(backup!, "utf8")).toBe("{oops");
    expect(await registry.read()).toEqual([]);
    expect(await resetRegistry(registry)).toBeNull();
  });

  it("keeps fields it does not model when rewriting", async () => {
    const registry = registryAt(join(dir, "tunnels.json"));
    await writeFile(registry.path, JSON.stringify([{ ...sample, Future: "kept" }]));
    await registry.update((entries) => ({ entries: [...entries, { ...sample, Pid: 2 }], result: undefined }));
    const raw = JSON.parse(await readFile(registry.path, "utf8"));
    expect(raw[0].Future).toBe("kept");
    expect(raw).toHaveLength(2);
  });

  it("writes nothing when the change throws", async () => {
    const registry = registryAt(join(dir, "tunnels.json"));
    await expect(
      registry.update(() => {
        throw new Error("no");
      }),
    ).rejects.toThrow("no");
    await expect(stat(registry.path)).rejects.toThrow();
  });

  it("waits out minikube's in-place rewrite: an empty or half-written file is read again until it is whole", async () => {
    const registry = registryAt(join(dir, "tunnels.json"));
    const whole = JSON.stringify([sample]);
    await writeFile(registry.path, "");
    const later = setTimeout(
      () =>
        void writeFile(registry.path, whole.slice(0, 40)).then(() =>
          setTimeout(() => void writeFile(registry.path, whole), 60),
        ),
      60,
    );
    const started = performance.now();
    expect((await registry.read()).map((e) => e.destination.text)).toEqual(["10.96.0.0/12"]);
    expect(performance.now() - started).toBeLessThan(1500);
    clearTimeout(later);
  });

  it("keeps what an unlocked minikube-style writer wrote meanwhile: our change is applied again to its newer file", async () => {
    const registry = registryAt(join(dir, "tunnels.json"));
    const mine = { ...sample, Pid: 42 };
    let calls = 0;
    await registry.update((entries) => {
      calls++;
      // The first time, another writer rewrites the file after our read and before our rename.
      if (calls === 1) writeFileSync(registry.path, JSON.stringify([{ ...sample, MachineName: "other", Pid: 99 }]));
      return { entries: [...entries, mine], result: undefined };
    });
    expect(calls).toBe(2);
    expect((await registry.read()).map((e) => `${e.profile}:${e.pid}`)).toEqual(["other:99", "minikube:42"]);
  });

  it("beside minikube's unlocked in-place writer, 8 register/unregister cycles all succeed and nothing is lost", async () => {
    const registry = registryAt(join(dir, "tunnels.json"));
    await writeFile(registry.path, "[]");
    const writer = spawn(process.execPath, [bundled("minikube-registry-writer"), registry.path, "777777"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let writes = "";
    writer.stdout.on("data", (c: Buffer) => (writes += c.toString()));
    try {
      // Let it write a few times first.
      await eventually(async () => (await stat(registry.path)).size >= 10, {
        timeoutMs: 10_000,
        everyMs: 5,
        what: "the writer's first entries",
      });
      for (let cycle = 0; cycle < 8; cycle++) {
        const ours = { ...sample, Pid: 500 + cycle };
        // Each step would have thrown "cannot be read: not valid JSON" without the settle-and-retry read.
        await registry.update((entries) => ({ entries: [...entries, ours], result: undefined }));
        await registry.read();
        await registry.update((entries) => ({
          entries: entries.filter((e) => e.Pid !== 500 + cycle),
          result: undefined,
        }));
      }
    } finally {
      writer.kill("SIGTERM");
      await new Promise((r) => writer.once("exit", r));
    }
    expect(Number(writes)).toBeGreaterThan(8);
    // The file is whole. (The writer may still bring back an entry of ours it read before our removal: that is
    // minikube's unlocked race, which cleanup undoes, since that entry's pid is not a live tunnel.)
    expect((await registry.read()).every((e) => e.pid === 777777 || (e.pid >= 500 && e.pid < 508))).toBe(true);
  });

  it("4 processes x 200 register/unregister operations: nothing lost or duplicated, every read parses", async () => {
    const path = join(dir, "tunnels.json");
    const registry = registryAt(path);
    const workers = [0, 1, 2, 3].map(
      (w) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [bundled("registry-worker"), path, String(w), "200"], {
            stdio: ["ignore", "inherit", "inherit"],
          });
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
