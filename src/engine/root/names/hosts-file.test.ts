import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlainFiles } from "../../system/file-access.js";
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

  it("a dead writer's block of the profile is replaced by the next writer, and cleanup takes dead blocks only", async () => {
    await hosts().set({ profile: "minikube", pid: 300, started: "3" }, web);
    await hosts().set({ profile: "dev", pid: 400, started: "4" }, api);
    await hosts().set({ profile: "minikube", pid: 100, started: "1" }, api);
    expect((await readFile(path, "utf8")).match(/# BEGIN/g)).toHaveLength(2);
    alive.add(500);
    await hosts().set({ profile: "other", pid: 500, started: "5" }, web);
    expect(await hosts().removeStale()).toEqual(["dev"]);
    expect((await readFile(path, "utf8")).match(/profile=(\S+) pid/g)).toEqual(["profile=minikube pid", "profile=other pid"]);
  });
});
