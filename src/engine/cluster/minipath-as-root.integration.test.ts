import { execFile } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestUser } from "../../../test-support/helper-lab.js";
import { ProfileConfigError, readProfileConfig } from "./profile-config.js";

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/** `sudo mktunnel` reads a user's MINIPATH: what the user put there must not hang root or make it read what they chose. */
describe.skipIf(!asRoot)("attack: a user's MINIPATH files read by root", () => {
  let user: TestUser;
  let dir: string;
  let profileDir: string;

  beforeAll(async () => {
    user = await TestUser.create();
    dir = await mkdtemp(join(tmpdir(), "mkt-minipath-root-"));
    await chmod(dir, 0o755);
    profileDir = join(dir, ".minikube", "profiles", "p");
    await mkdir(profileDir, { recursive: true });
    await run("chown", ["-R", `${user.uid}:${user.gid}`, join(dir, ".minikube")]);
  });
  afterAll(async () => {
    await user.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("a FIFO in place of config.json is refused at once, not waited on", async () => {
    await run("mkfifo", [join(profileDir, "config.json")]);
    await chown(join(profileDir, "config.json"), user.uid, user.gid);
    await expect(readProfileConfig(join(dir, ".minikube"), "p")).rejects.toThrow(/not a regular file/);
    await rm(join(profileDir, "config.json"));
  });

  it("a link to /dev/zero (root would read without end) is refused", async () => {
    await symlink("/dev/zero", join(profileDir, "config.json"));
    await run("chown", ["-h", `${user.uid}:${user.gid}`, join(profileDir, "config.json")]);
    await expect(readProfileConfig(join(dir, ".minikube"), "p")).rejects.toBeInstanceOf(ProfileConfigError);
    await expect(readProfileConfig(join(dir, ".minikube"), "p")).rejects.toThrow(/symbolic link/);
  });
});
