import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlainFiles } from "../../system/file-access.js";
import type { HostsEntry } from "../root.js";
import type { DnsResolver } from "./dns-resolver.js";
import { HostsFile } from "./hosts-file.js";
import { NamesWriter } from "./names-writer.js";

const noResolver: DnsResolver = {
  kind: "none",
  unavailable: async () => "no resolver in this test",
  apply: async () => "",
  remove: async () => undefined,
  removeStale: async () => [],
};

/** `count` Services, each under the two names the tunnel writes (full and short), at its own forward-mode address. */
function services(count: number): HostsEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    ip: `127.64.${i >> 8}.${i & 255}`,
    names: [`s${i}.default.svc.cluster.local`, `s${i}.default`],
  }));
}

/**
 * A client of root (the helper's own user) asking for a hosts file that
 * every name lookup on the machine must read through: a session's blocks
 * are bounded by profiles and by names per profile.
 */
describe("the names writer bounds one session's hosts blocks", () => {
  let dir: string;
  let path: string;
  const writer = () =>
    new NamesWriter(
      { pid: 4242, started: "1" },
      new HostsFile(path, new PlainFiles(() => false), async () => true),
      noResolver,
    );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-names-"));
    path = join(dir, "hosts");
    await writeFile(path, "127.0.0.1 localhost\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("blocks for at most 32 profiles: the 33rd is refused naming the limit and nothing is written; a written profile still updates, and one taken back frees its place", async () => {
    const names = writer();
    for (let i = 0; i < 32; i++) await names.setHosts(`p${i}`, services(1));
    const full = await readFile(path, "utf8");
    expect(full.match(/# BEGIN/g)).toHaveLength(32);
    await expect(names.setHosts("p32", services(1))).rejects.toThrow(
      'refusing a hosts block for profile "p32": this client already has blocks for 32 profiles, the most one session may write',
    );
    expect(await readFile(path, "utf8")).toBe(full);
    await names.setHosts("p0", services(2));
    expect(await readFile(path, "utf8")).toContain("s1.default.svc.cluster.local");
    await names.setHosts("p1", null);
    await names.setHosts("p32", services(1));
    expect((await readFile(path, "utf8")).match(/profile=p32 pid/g)).toHaveLength(1);
    expect(await names.clearAll()).toEqual([]);
    expect(await readFile(path, "utf8")).toBe("127.0.0.1 localhost\n");
  });

  it("at most 8192 names in a profile's block: 4096 Services (two names each) are written, one more is refused naming the limit and the file is left as it was", async () => {
    const names = writer();
    await names.setHosts("minikube", services(4096));
    const written = await readFile(path, "utf8");
    expect(written.split("\n").filter((l) => l.startsWith("127.64.")).length).toBe(4096);
    await expect(names.setHosts("minikube", services(4097))).rejects.toThrow(
      'refusing the hosts block of profile "minikube": 8194 names, over the 8192 one profile may write; nothing was written',
    );
    expect(await readFile(path, "utf8")).toBe(written);
  });

  it("profiles written at the same time count against the limit together", async () => {
    const names = writer();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => names.setHosts(`p${i}`, services(1))),
    );
    const overLimit = results.filter(
      (r) => r.status === "rejected" && /the most one session may write/.test(String(r.reason)),
    );
    expect(overLimit).toHaveLength(8);
  });
});
