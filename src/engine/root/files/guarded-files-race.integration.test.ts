import { type ChildProcess, spawn } from "node:child_process";
import { type FSWatcher, watch } from "node:fs";
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import { FileGuard } from "./guarded-files.js";

const isRoot = process.platform !== "win32" && process.getuid?.() === 0;
if (!isRoot) console.log("skipped: the directory-swap race needs root (CI runs as root)");

/** A uid no account has: MINIPATH belongs to "some user", as ~/.minikube does. */
const USER = { uid: 4242, gid: 4242 };

/**
 * The user's side of the race, as the user: MINIPATH moved aside and a link
 * to a root-owned directory put in its place, then the real one put back,
 * as fast as it goes; the real one stays a random moment (up to 1 ms), so
 * that some of root's writes find it throughout and go through, and the
 * rest meet the link at any instant of their check-then-use.
 */
const SWAPPER = `
  const fs = require("fs");
  const [miniPath, aside, target] = process.argv.slice(1);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    fs.renameSync(miniPath, aside);
    fs.symlinkSync(target, miniPath);
    fs.unlinkSync(miniPath);
    fs.renameSync(aside, miniPath);
    Atomics.wait(pause, 0, 0, Math.random());
  }`;

describe.skipIf(!isRoot)("root's files in MINIPATH while its user swaps MINIPATH for a link (as root)", () => {
  let base: string;
  let miniPath: string;
  let vault: string;
  let swapper: ChildProcess | null = null;
  let watcher: FSWatcher | null = null;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "mkt-race-"));
    await chmod(base, 0o755);
    const home = join(base, "home");
    miniPath = join(home, ".minikube");
    await mkdir(miniPath, { recursive: true });
    await chown(home, USER.uid, USER.gid);
    await chown(miniPath, USER.uid, USER.gid);
    // Stands in for /etc/cron.d or /etc/bash_completion.d: root-owned, and whatever lands in it is trusted.
    vault = join(base, "vault");
    await mkdir(vault, { mode: 0o755 });
  });

  afterEach(async () => {
    watcher?.close();
    if (swapper && swapper.exitCode === null && swapper.signalCode === null) {
      const gone = new Promise((resolve) => swapper!.once("exit", resolve));
      swapper.kill("SIGKILL");
      await gone;
    }
    swapper = null;
    await rm(base, { recursive: true, force: true });
  });

  it("root never creates, writes or renames a file in the root-owned directory the link points to, however the swap falls", async () => {
    const created: string[] = [];
    watcher = watch(vault, (_event, name) => created.push(String(name)));
    swapper = spawn(process.execPath, ["-e", SWAPPER, miniPath, join(base, "home", ".minikube-real"), vault], {
      uid: USER.uid,
      gid: USER.gid,
      stdio: "ignore",
    });
    await eventually(async () => (await lstat(miniPath).catch(() => null))?.isSymbolicLink(), {
      what: "the user's swap to be running",
    });

    const guard = FileGuard.strictFor(USER);
    const rounds = 1000;
    let wrote = 0;
    let lost = 0;
    let left = 0;
    for (let i = 0; i < rounds; i++) {
      const before = created.length;
      // The registry's replace: a temporary file beside it, renamed over it.
      if (await guard.replace(join(miniPath, "tunnels.json"), `[${i}]\n`).catch(() => false)) wrote++;
      // A first log or lock: created with O_EXCL (a new name each round, so each round creates).
      const handle = await guard.openForAppend(join(miniPath, `helper-${i}.log`)).catch(() => null);
      if (handle) {
        wrote++;
        await handle.write("line\n");
        await handle.close();
      }
      const now = (await readdir(vault)).length;
      if (created.length > before || now > left) lost++;
      left = now;
    }
    console.log(
      `[guard race] ${rounds} rounds: ${wrote} writes went through, ${lost} rounds put something in the root-owned directory (${created.length} events)`,
    );
    // The race really ran: some writes landed in MINIPATH, the rest were refused.
    expect(wrote).toBeGreaterThan(0);
    expect({ lost, events: created.slice(0, 5), left: await readdir(vault) }).toEqual({
      lost: 0,
      events: [],
      left: [],
    });
  });
});
