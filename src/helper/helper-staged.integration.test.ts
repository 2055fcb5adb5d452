import { execFile } from "node:child_process";
import { appendFile, chmod, chown, copyFile, cp, mkdir, mkdtemp, readdir, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { helperArgv } from "../engine/elevation/elevation.js";
import { HelperClient } from "../engine/elevation/helper-client.js";
import { treeDigest } from "../engine/elevation/staged-launch.js";
import { bundled } from "../../test-support/bundles.js";
import { eventually } from "../../test-support/eventually.js";
import { TestUser, createHelperLab, destroyHelperLab, type HelperFiles } from "../../test-support/helper-lab.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { inPrivateEtc } from "../../test-support/private-etc.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: the per-session helper from a user-owned install: ${skip}`);

/**
 * A macOS drag-install's owners and modes, rebuilt here: /Applications is
 * root:admin 0775, the app inside it belongs to the user, and so do the
 * helper's runtime, script and native packages in Contents/Resources/helper.
 */
describe.skipIf(skip !== null)("the per-session helper from an app the user owns (/Applications, an AppImage)", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let root: string;
  let helperDir: string;
  let stageDir: string;

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    root = await mkdtemp(join(tmpdir(), "mkt-apps-"));
    await chmod(root, 0o755);
    const applications = join(root, "Applications");
    helperDir = join(applications, "Minikube Tunnel.app", "Contents", "Resources", "helper");
    await mkdir(helperDir, { recursive: true });
    await copyFile(process.execPath, join(helperDir, "node"));
    await copyFile(bundled("helper-main"), join(helperDir, "helper-main.mjs"));
    for (const pkg of ["koffi", `@koromix/koffi-${process.platform}-${process.arch}`])
      await cp(join(import.meta.dirname, "..", "..", "node_modules", pkg), join(helperDir, "node_modules", pkg), {
        recursive: true,
        dereference: true,
      });
    await run("chown", ["-R", `${user.uid}:${user.gid}`, join(applications, "Minikube Tunnel.app")]);
    // root:admin 0775, as macOS ships it (gid 80 is admin there; any non-root group shows the same thing here).
    await chown(applications, 0, 80);
    await chmod(applications, 0o775);
    stageDir = join(files.root, "stage");
  });

  afterEach(async () => {
    await destroyHelperLab({ lab, user, files });
    await rm(root, { recursive: true, force: true });
  });

  const launch = async (staged: boolean) => ({
    runtime: join(helperDir, "node"),
    runtimeArgs: [],
    script: join(helperDir, "helper-main.mjs"),
    runtimeDir: files.runtimeDir,
    logFile: files.logFile,
    registry: files.registry,
    ...(staged ? { staged: { stageDir, digests: { tree: await treeDigest(helperDir) } } } : {}),
  });

  /** What the elevation runs, run as root in the lab: an exit code and what it said. */
  async function elevate(argv: string[]): Promise<{ code: number; stderr: string }> {
    const [file, args] = inPrivateEtc("ip", ["netns", "exec", lab.host, ...argv]);
    return run(file, args).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  }

  it("run from where it lies, the helper refuses root: a user could change it", async () => {
    const result = await elevate(helperArgv(await launch(false), files.secretFile));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /refusing to run as root: .*Minikube Tunnel\.app.* is owned by uid \d+|refusing to run as root: .*Applications is writable by group or others/,
    );
  });

  it("staged: root copies it into a directory only root can write, checks the package's digests, and the copy serves the user", async () => {
    const result = await elevate(helperArgv(await launch(true), files.secretFile));
    expect(result, result.stderr).toEqual({ code: 0, stderr: "" });
    const client = await HelperClient.connect(files.socketPath, files.secret);
    expect(await client.call({ op: "ping" })).toBe("pong");
    // What runs is the checked copy: root's, in the stage directory.
    const { stdout } = await run("pgrep", ["-af", "--", `--secret-file ${files.secretFile}`]);
    expect(stdout).toContain(join(stageDir, "helper."));
    // Once checked, the copy has the modes its digest lines name.
    const copy = join(
      stageDir,
      (await readdir(stageDir)).find((name) => name.startsWith("helper."))!,
    );
    const modes = await Promise.all(
      [
        copy,
        join(copy, "app"),
        join(copy, "app", "node"),
        join(copy, "app", "helper-main.mjs"),
        join(copy, "app", "node_modules"),
      ].map(async (p) => (await stat(p)).mode & 0o7777),
    );
    const script = (await stat(join(helperDir, "helper-main.mjs"))).mode & 0o111 ? 0o755 : 0o644;
    expect(modes).toEqual([0o755, 0o755, 0o755, script, 0o755]);
    await client.close();
  });

  it("staged: while root copies and checks it, the copy is root's alone (no other user can open or run a file of it), and a refused copy leaves nothing", async () => {
    const digests = await launch(true);
    // A large sparse file keeps the check busy long enough to watch it; it is not in the digest, so the copy is refused
    // in the end.
    await run("truncate", ["-s", "512M", join(helperDir, "padding")]);
    let finished = false;
    const result = elevate(helperArgv(digests, files.secretFile)).finally(() => (finished = true));
    const seen: { mode: number; copied: boolean }[] = [];
    await eventually(
      async () => {
        for (const name of (await readdir(stageDir).catch(() => [])).filter((n) => n.startsWith("helper."))) {
          const dir = await stat(join(stageDir, name)).catch(() => null);
          const padding = await stat(join(stageDir, name, "app", "padding")).catch(() => null);
          if (dir) seen.push({ mode: dir.mode & 0o777, copied: padding !== null });
        }
        return finished;
      },
      { timeoutMs: 60_000, everyMs: 5, what: "the staged launch to finish" },
    );
    expect((await result).code).toBe(3);
    // It was watched while the copy was there (being checked), not only before or after.
    expect(seen.some((s) => s.copied)).toBe(true);
    expect(seen.filter((s) => (s.mode & 0o077) !== 0).map((s) => s.mode.toString(8))).toEqual([]);
    expect((await readdir(stageDir)).filter((n) => n.startsWith("helper."))).toEqual([]);
  });

  it("staged, but a file changed after the package was built: nothing runs, and the reason is given", async () => {
    const digests = await launch(true);
    await appendFile(join(helperDir, "helper-main.mjs"), "\n// changed by someone\n");
    const result = await elevate(helperArgv(digests, files.secretFile));
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toBe(
      "refusing to run the helper as root: its files do not match the digest this package was built with (changed after installation?)",
    );
    await expect(HelperClient.connect(files.socketPath, files.secret, 500)).rejects.toThrow();
  });

  it("staged, but the helper directory is a link to the user's live files: refused, not copied as a link and run", async () => {
    const digests = await launch(true);
    const live = join(root, "live-helper");
    await run("mv", [helperDir, live]);
    await symlink(live, helperDir);
    const result = await elevate(helperArgv(digests, files.secretFile));
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toMatch(
      /refusing to run the helper as root: .* is not a directory \(a link to one is not followed\)/,
    );
  });

  it.each([
    [
      "a link planted as node_modules/cpu-features (ssh2 requires it at start)",
      async (dir: string) => symlink(join(root, "elsewhere"), join(dir, "node_modules", "cpu-features")),
    ],
    ["a FIFO planted beside the bundle", async (dir: string) => void (await run("mkfifo", [join(dir, "fifo")]))],
  ])(
    "staged, with %s: refused before anything runs, though the files the package lists are intact",
    async (_what, plant) => {
      const digests = await launch(true);
      await mkdir(join(root, "elsewhere"), { recursive: true });
      await plant(helperDir);
      const result = await elevate(helperArgv(digests, files.secretFile));
      expect(result.code).toBe(3);
      expect(result.stderr.trim()).toBe(
        "refusing to run the helper as root: its directory holds a link or a special file",
      );
      await expect(HelperClient.connect(files.socketPath, files.secret, 500)).rejects.toThrow();
    },
  );

  it("staged, with only a file's mode changed (its execute bits flipped): the digest covers modes too", async () => {
    const digests = await launch(true);
    const script = join(helperDir, "helper-main.mjs");
    await chmod(script, (await stat(script)).mode & 0o111 ? 0o644 : 0o755);
    const result = await elevate(helperArgv(digests, files.secretFile));
    expect(result.code).toBe(3);
  });

  it("a package whose helper directory holds a link cannot be given a digest at all", async () => {
    await symlink(join(helperDir, "helper-main.mjs"), join(helperDir, "alias.mjs"));
    await expect(treeDigest(helperDir)).rejects.toThrow(/is a link or special file/);
  });
});
