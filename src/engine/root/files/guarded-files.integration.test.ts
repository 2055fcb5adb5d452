import { execFile } from "node:child_process";
import { chmod, chown, link, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryFile } from "../../registry/registry-file.js";
import { TunnelLocks } from "../../registry/tunnel-lock.js";
import { PlainFiles } from "../../system/file-access.js";
import { UnsafeFileError, assertNoUserLinks } from "./directory-walk.js";
import { FileGuard, fileAccessFor } from "./guarded-files.js";

const run = promisify(execFile);
const isRoot = process.platform !== "win32" && process.getuid?.() === 0;
if (!isRoot) console.log("skipped: root's file guard tests need root (CI runs as root)");

/** A uid no account has: MINIPATH belongs to "some user", as ~/.minikube does. */
const USER = { uid: 4242, gid: 4242 };

describe.skipIf(!isRoot)("root never writes through a user's link (as root)", () => {
  let base: string;
  let miniPath: string;
  let secretTarget: string;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "mkt-guard-"));
    await chmod(base, 0o755);
    miniPath = join(base, "home", ".minikube");
    await mkdir(miniPath, { recursive: true });
    await chown(join(base, "home"), USER.uid, USER.gid);
    await chown(miniPath, USER.uid, USER.gid);
    // Stands in for /etc/shadow: root-owned, 0600, outside the user's reach.
    const vault = join(base, "vault");
    await mkdir(vault, { mode: 0o700 });
    secretTarget = join(vault, "shadow");
    await writeFile(secretTarget, "[]", { mode: 0o600 });
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  async function expectTargetUntouched(): Promise<void> {
    const info = await stat(secretTarget);
    expect(await readFile(secretTarget, "utf8")).toBe("[]");
    expect(info.uid).toBe(0);
    expect(info.mode & 0o777).toBe(0o600);
  }

  it("tunnels.json planted as a link: one clear error naming it; the target keeps its bytes, owner and mode", async () => {
    const path = join(miniPath, "tunnels.json");
    await symlink(secretTarget, path);
    const registry = new RegistryFile(path, { settleMs: 50, files: fileAccessFor(miniPath) });
    const error = await registry.update((entries) => ({ entries: [...entries], result: 1 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeFileError);
    expect((error as Error).message).toBe(
      `refusing to use ${path}: it is a symbolic link; nothing was read, written or chowned`,
    );
    await expect(registry.read()).rejects.toThrow(UnsafeFileError);
    await expectTargetUntouched();
  });

  it("the lock file planted as a link is refused", async () => {
    const path = join(miniPath, "tunnels.json");
    await symlink(secretTarget, `${path}.lock`);
    await expect(
      new RegistryFile(path, { files: fileAccessFor(miniPath) }).update(() => ({ entries: [], result: 1 })),
    ).rejects.toThrow(`refusing to use ${path}.lock: it is a symbolic link`);
    await expectTargetUntouched();
  });

  it("the temporary file's name planted as a link is refused (O_EXCL), not written through", async () => {
    const path = join(miniPath, "tunnels.json");
    const guard = await FileGuard.forDirectory(miniPath);
    await symlink(secretTarget, `${path}.planted.tmp`);
    await expect(guard.replace(path, "[]\n", { tempName: (p) => `${p}.planted.tmp` })).rejects.toThrow(UnsafeFileError);
    await expectTargetUntouched();
    await expect(lstat(path)).rejects.toThrow();
  });

  it("MINIPATH itself a link under the user's home is refused; a link only root could make is followed", async () => {
    const linked = join(base, "home", "linked");
    await symlink(join(base, "vault"), linked);
    await expect(FileGuard.forDirectory(linked)).rejects.toThrow(
      `refusing to use ${linked}: it is a symbolic link in a directory that a non-root user controls`,
    );
    const rootLink = join(base, "root-link");
    await symlink(miniPath, rootLink);
    await expect(assertNoUserLinks(join(rootLink, "tunnels.json"))).resolves.toBeUndefined();
  });

  it("on Windows every link or junction on the way is refused, even one only an administrator could have made (lstat reports a junction as a link)", async () => {
    const rootLink = join(base, "root-link");
    await symlink(miniPath, rootLink);
    await expect(assertNoUserLinks(join(rootLink, "tunnels.json"), "win32")).rejects.toThrow(
      `refusing to use ${rootLink}: it is a symbolic link or a junction (a reparse point)`,
    );
    await expect(assertNoUserLinks(join(miniPath, "tunnels.json"), "win32")).resolves.toBeUndefined();
  });

  it("through a link only root made, writes land in the real directory; errors name the path asked for, never a descriptor's", async () => {
    const rootLink = join(base, "root-link");
    await symlink(miniPath, rootLink);
    const guard = FileGuard.strictFor(USER);
    expect(await guard.replace(join(rootLink, "tunnels.json"), "[1]\n")).toBe(true);
    expect(await readFile(join(miniPath, "tunnels.json"), "utf8")).toBe("[1]\n");
    expect(await guard.readText(join(rootLink, "tunnels.json"))).toBe("[1]\n");
    expect(await guard.readText(join(miniPath, "missing.json"))).toBeNull();
    expect(await guard.readText(join(miniPath, "missing-dir", "tunnels.json"))).toBeNull();
    await expect(guard.openForAppend(join(miniPath, "logs", "helper.log"))).rejects.toThrow(
      `refusing to use ${join(miniPath, "logs")}: the directory does not exist`,
    );
    await expect(guard.openForAppend(join(miniPath, "tunnels.json", "helper.log"))).rejects.toThrow(
      `refusing to use ${join(miniPath, "tunnels.json")}: it is not a directory`,
    );
    await mkdir(join(miniPath, "d"));
    const error = (await guard.readText(join(miniPath, "d", "x", "y")).catch((e: Error) => e)) ?? new Error("no error");
    expect(String(error)).not.toContain("/proc/self/fd");
  });

  it("a registry owned by another user, with two hard links, or a FIFO is refused, without hanging", async () => {
    const path = join(miniPath, "tunnels.json");
    const registry = new RegistryFile(path, { settleMs: 50, files: fileAccessFor(miniPath) });
    await writeFile(path, "[]");
    await chown(path, 5555, 5555);
    await expect(registry.read()).rejects.toThrow("it belongs to uid 5555, not to root or uid 4242");
    await rm(path);
    await link(secretTarget, path);
    await expect(registry.read()).rejects.toThrow("it has 2 hard links");
    await expect(registry.update(() => ({ entries: [], result: 1 }))).rejects.toThrow("it has 2 hard links");
    await rm(path);
    await expectTargetUntouched();
    await run("mkfifo", [path]);
    await expect(registry.read()).rejects.toThrow("it is not a regular file");
  });

  it("files root creates there belong to MINIPATH's owner, and a normal update still works", async () => {
    const path = join(miniPath, "tunnels.json");
    const registry = new RegistryFile(path, { files: fileAccessFor(miniPath) });
    await registry.update(() => ({ entries: [], result: undefined }));
    expect((await stat(path)).uid).toBe(USER.uid);
    expect((await stat(`${path}.lock`)).uid).toBe(USER.uid);
    expect(await readFile(path, "utf8")).toBe("[]\n");
  });

  it("minikube's tunnel lock planted as a link is refused too", async () => {
    await mkdir(join(miniPath, "profiles", "minikube"), { recursive: true });
    await chown(join(miniPath, "profiles"), USER.uid, USER.gid);
    await chown(join(miniPath, "profiles", "minikube"), USER.uid, USER.gid);
    await symlink(secretTarget, join(miniPath, "profiles", "minikube", ".tunnel_lock"));
    const locks = new TunnelLocks(miniPath, () => FileGuard.forDirectory(miniPath));
    await expect(locks.acquire("minikube")).rejects.toThrow(UnsafeFileError);
    await expectTargetUntouched();
  });
});

describe("a normal user's files are plain (minikube's habits)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-lenient-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("follows the user's own link to their registry, as minikube does, and writes the target", async () => {
    const real = join(dir, "real.json");
    await writeFile(real, "[]");
    await symlink(real, join(dir, "tunnels.json"));
    const guard = new PlainFiles(() => false);
    expect(await guard.readText(join(dir, "tunnels.json"))).toBe("[]");
    await guard.replace(join(dir, "tunnels.json"), "[1]");
    expect(await readFile(real, "utf8")).toBe("[1]");
    expect((await lstat(join(dir, "tunnels.json"))).isSymbolicLink()).toBe(true);
  });
});
