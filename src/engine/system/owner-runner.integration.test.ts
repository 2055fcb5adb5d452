import { execFile } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestUser } from "../../../test-support/helper-lab.js";
import { eventually } from "../../../test-support/eventually.js";
import { createEngine } from "../engine.js";
import { CommandNotFoundError, CommandTimeoutError } from "./command-runner.js";
import { runnerAs, runnerFor } from "./owner-runner.js";
import { actingUserFor } from "../root/index.js";

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/**
 * `sudo mktunnel start` for a MINIPATH another user owns (MINIKUBE_HOME
 * kept by sudo -E, or macOS's sudo keeping HOME): minikube would run that
 * user's driver binaries from MINIPATH/bin, docker their credential helpers
 * and CLI plugins. Root runs those commands as the owner instead.
 */
describe.skipIf(!asRoot)("commands root runs for a user", () => {
  let user: TestUser;
  let dir: string;
  let group: string;

  beforeAll(async () => {
    user = await TestUser.create();
    // A supplementary group, as docker's socket group is: the command must have it.
    group = `mktg${process.pid % 100000}`;
    await run("groupadd", [group]);
    await run("usermod", ["-aG", group, user.name]);
    dir = await mkdtemp(join(tmpdir(), "mkt-owner-"));
    await chmod(dir, 0o755);
  });

  afterAll(async () => {
    await user.destroy();
    await run("groupdel", [group]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it("runs with the user's uid, gid, groups and HOME, without sudo's variables", async () => {
    const env = { ...process.env, SUDO_USER: "root", SUDO_UID: "0" };
    const saved = process.env;
    process.env = env;
    try {
      const ids = await runnerAs(user).run("sh", [
        "-c",
        'echo "$(id -u) $(id -g) $(id -Gn)"; echo "$HOME"; env | grep -c ^SUDO_ || true',
      ]);
      const [idLine, home, sudoVars] = ids.stdout.trim().split("\n");
      const [uid, gid, ...groups] = idLine!.split(" ");
      expect({ uid: Number(uid), gid: Number(gid) }).toEqual({ uid: user.uid, gid: user.gid });
      expect(groups).toContain(group);
      expect(home).toBe((await run("sh", ["-c", `getent passwd ${user.name} | cut -d: -f6`])).stdout.trim());
      expect(sudoVars).toBe("0");
    } finally {
      process.env = saved;
    }
  });

  it("a timeout stops the command itself, not only the process that started it", async () => {
    const length = `30.${process.pid}`;
    const marker = `sleep ${length}`;
    await expect(runnerAs(user).run("sleep", [length], { timeoutMs: 1500 })).rejects.toBeInstanceOf(
      CommandTimeoutError,
    );
    await eventually(
      async () => (await run("pgrep", ["-f", marker]).catch(() => ({ stdout: "" }))).stdout.trim() === "",
      { timeoutMs: 3000, what: "the timed-out command to be gone" },
    );
  });

  it("a missing command is reported as not found", async () => {
    await expect(runnerAs(user).run("mkt-no-such-command", [])).rejects.toBeInstanceOf(CommandNotFoundError);
  });

  it("root's own MINIPATH runs commands directly; a user's, as that user, even before it exists", async () => {
    const mine = join(dir, "root-minipath");
    await mkdir(mine);
    expect((await runnerFor(await actingUserFor(mine)).run("id", ["-u"])).stdout.trim()).toBe("0");
    const theirs = join(dir, "user-minipath");
    await mkdir(theirs);
    await chown(theirs, user.uid, user.gid);
    // Not there yet: its nearest existing folder's owner answers.
    expect(
      (await runnerFor(await actingUserFor(join(theirs, "later", ".minikube"))).run("id", ["-u"])).stdout.trim(),
    ).toBe(String(user.uid));
  });

  it("attack: the acting user is fixed at start; a MINIPATH swapped afterwards for a link to a root-owned folder runs nothing as root, and a MINIPATH that is a user's link is refused", async () => {
    const home = join(dir, "swapper");
    const miniPath = join(home, ".minikube");
    await mkdir(miniPath, { recursive: true });
    await chown(home, user.uid, user.gid);
    await chown(miniPath, user.uid, user.gid);
    // A minikube anyone may run, that says whom it runs as.
    const whoami = join(dir, "whoami-minikube");
    await writeFile(whoami, `#!/bin/sh\necho "{\\"Name\\":\\"p\\",\\"Host\\":\\"uid-$(id -u)\\"}"\n`, { mode: 0o755 });
    const engine = await createEngine({
      env: { ...process.env, MINIKUBE_HOME: miniPath, HOME: home },
      minikubeBinary: whoami,
      podCidrSource: null,
      names: false,
      tunnelLocks: false,
    });
    // As the user would: MINIPATH becomes a link to a folder root owns.
    const [file, args] = user.as("sh", "-c", `mv ${miniPath} ${miniPath}.old && ln -s ${dir} ${miniPath}`);
    await run(file, args);
    expect((await engine.minikube.status("p")).host).toBe(`uid-${user.uid}`);
    await expect(actingUserFor(miniPath)).rejects.toThrow(/symbolic link/);
  });

  it("attack: a minikube the user planted cannot act as root when root tunnels their MINIPATH", async () => {
    const miniPath = join(dir, "planted", ".minikube");
    await mkdir(miniPath, { recursive: true });
    await chown(join(dir, "planted"), user.uid, user.gid);
    await chown(miniPath, user.uid, user.gid);
    const proof = join(dir, "root-only-proof");
    // The user's "minikube" tries to write where only root can and reports who it ran as.
    const planted = join(miniPath, "minikube");
    await writeFile(
      planted,
      `#!/bin/sh\ntouch ${proof} 2>/dev/null\necho "{\\"Name\\":\\"p\\",\\"Host\\":\\"uid-$(id -u)\\"}"\n`,
      { mode: 0o755 },
    );
    await chown(planted, user.uid, user.gid);
    const engine = await createEngine({
      env: { ...process.env, MINIKUBE_HOME: miniPath },
      minikubeBinary: planted,
      podCidrSource: null,
      names: false,
      tunnelLocks: false,
    });
    const status = await engine.minikube.status("p");
    expect(status.host).toBe(`uid-${user.uid}`);
    await expect(run("test", ["-e", proof])).rejects.toThrow();
  });
});
