import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlainFiles } from "../../system/file-access.js";
import { renderBlock } from "./hosts-block.js";
import { HostsFile } from "./hosts-file.js";

const web = [{ ip: "127.64.0.1", names: ["web.default"] }];
const api = [{ ip: "127.65.0.1", names: ["api.default"] }];

describe("the hosts file: blocks belong to their writer", () => {
  let dir: string;
  let path: string;
  const alive = new Set([100, 200]);
  const hosts = () => new HostsFile(path, new PlainFiles(() => false), async (pid) => alive.has(pid));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-hosts-"));
    path = join(dir, "hosts");
    await writeFile(path, "127.0.0.1 localhost\n");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("two live writers of the same profile name (two users, or two sessions of the installed helper) never take each other's block", async () => {
    await hosts().set({ profile: "minikube", pid: 100, started: "1" }, web);
    await hosts().set({ profile: "minikube", pid: 200, started: "2" }, api);
    await hosts().set({ profile: "minikube", pid: 200, started: "2" }, null);
    const text = await readFile(path, "utf8");
    expect(text).toContain("127.64.0.1 web.default");
    expect(text).not.toContain("api.default");
  });

  it("many writers of one process at once (the installed helper's sessions) all keep their blocks", async () => {
    const writers = Array.from({ length: 20 }, (_, i) => ({ profile: `p${i}`, pid: 100, started: "1" }));
    await Promise.all(writers.map((w, i) => hosts().set(w, [{ ip: `127.64.0.${i + 1}`, names: [`web.p${i}`] }])));
    const text = await readFile(path, "utf8");
    for (let i = 0; i < 20; i++) expect(text).toContain(`127.64.0.${i + 1} web.p${i}`);
  });

  it("a dead writer's block of the profile is replaced by the next writer, and cleanup takes dead blocks only", async () => {
    await hosts().set({ profile: "minikube", pid: 300, started: "3" }, web);
    await hosts().set({ profile: "dev", pid: 400, started: "4" }, api);
    await hosts().set({ profile: "minikube", pid: 100, started: "1" }, api);
    expect((await readFile(path, "utf8")).match(/# BEGIN/g)).toHaveLength(2);
    alive.add(500);
    await hosts().set({ profile: "other", pid: 500, started: "5" }, web);
    expect(await hosts().removeStale()).toEqual(["dev"]);
    expect((await readFile(path, "utf8")).match(/profile=(\S+) pid/g)).toEqual([
      "profile=minikube pid",
      "profile=other pid",
    ]);
  });

  // Someone else's lines (another tool, an ad blocker's list): a hosts file can be large without us.
  const foreign = (bytes: number) => "0.0.0.0 ads.example\n".repeat(Math.floor(bytes / 20));

  it("a write that would make the hosts file larger than 4 MiB is refused naming the limit, and the file is left byte for byte", async () => {
    await appendFile(path, foreign(4 * 1024 * 1024 - 40));
    const before = await readFile(path);
    const owner = { profile: "minikube", pid: 100, started: "1" };
    const wouldBe = before.length + renderBlock(owner, web).length;
    await expect(hosts().set(owner, web)).rejects.toThrow(
      `refusing to write ${path}: with this block it would be ${wouldBe} bytes, over the 4 MiB (4194304 bytes) limit on the hosts file, which every name lookup on this machine reads; nothing was written`,
    );
    expect((await readFile(path)).equals(before)).toBe(true);
  });

  it("on a 5 MiB hosts file someone else made big, our block is still replaced by a smaller one and removed, a dead writer's by cleanup, and no block is added", async () => {
    await hosts().set({ profile: "minikube", pid: 100, started: "1" }, [...web, ...api]);
    await hosts().set({ profile: "dev", pid: 300, started: "3" }, api);
    await appendFile(path, foreign(5 * 1024 * 1024));
    const big = await readFile(path, "latin1");
    await hosts().set({ profile: "minikube", pid: 100, started: "1" }, web);
    expect(await readFile(path, "latin1")).toBe(
      big.replace(
        "127.65.0.1 api.default\n# END minikube-tunnel profile=minikube",
        "# END minikube-tunnel profile=minikube",
      ),
    );
    await expect(hosts().set({ profile: "other", pid: 200, started: "2" }, web)).rejects.toThrow(
      "over the 4 MiB (4194304 bytes) limit on the hosts file",
    );
    await hosts().set({ profile: "minikube", pid: 100, started: "1" }, null);
    expect(await hosts().removeStale()).toEqual(["dev"]);
    expect(await readFile(path, "latin1")).toBe(`127.0.0.1 localhost\n${foreign(5 * 1024 * 1024)}`);
  });
});
