import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { APP_VERSION } from "../shared/version.js";
import { helperLayout } from "../engine/elevation/helper-layout.js";
import { runCli } from "../../test-support/cli-process.js";
import { eventually, timeUntil } from "../../test-support/eventually.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { rawConnection, TestUser } from "../../test-support/helper-lab.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { inPrivateEtc } from "../../test-support/private-etc.js";
import { mentions, stopProcesses } from "../../test-support/processes.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: the installed helper: ${skip}`);

/** The words of systemd's ExecStart= line, as systemd.service(5) splits a quoted command line. */
function execStart(unit: string): string[] {
  const line = unit
    .split("\n")
    .find((l) => l.startsWith("ExecStart="))!
    .slice("ExecStart=".length);
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1"));
}

describe.skipIf(skip !== null)("the installed helper: install once, no password again", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let prefix: string;
  let runDir: string;
  let fake: FakeMinikube;
  let userBin: string;
  let daemon: ChildProcess | null = null;
  const cleanups: (() => Promise<void>)[] = [];
  const socket = () => join(runDir, "helper.sock");

  beforeEach(async () => {
    lab = await NetnsLab.create();
    user = await TestUser.create();
    prefix = await mkdtemp(join(tmpdir(), "mkt-prefix-"));
    await chmod(prefix, 0o755);
    runDir = await mkdtemp(join(tmpdir(), "mkt-rundir-"));
    await chmod(runDir, 0o755);
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    // The user's own MINIKUBE_HOME, as it is on a laptop.
    await chmod(fake.root, 0o755);
    await run("chown", ["-R", `${user.uid}:${user.gid}`, fake.root]);
    // The user's PATH has minikube, docker and ip, and no sudo: only the installed helper can give it root's help.
    userBin = await mkdtemp(join(tmpdir(), "mkt-userbin-"));
    await chmod(userBin, 0o755);
    for (const tool of ["minikube", "docker"]) await symlink(join(fake.binDir, tool), join(userBin, tool));
    // The fake minikube is a shell script that reads its answers with cat.
    for (const tool of ["ip", "cat"])
      await symlink((await run("sh", ["-c", `command -v ${tool}`])).stdout.trim(), join(userBin, tool));
  });

  afterEach(async () => {
    daemon?.kill("SIGKILL");
    daemon = null;
    // Every daemon and every mktunnel of the user runs from the prefix, including those a failed test left.
    await stopProcesses(mentions(prefix));
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await lab.destroy();
    await user.destroy();
    await fake.destroy();
    for (const dir of [prefix, runDir, userBin]) await rm(dir, { recursive: true, force: true });
  });

  const install = (...extra: string[]) =>
    runCli(null, ["helper", "install", "--user", user.name, "--prefix", prefix, "--no-start", ...extra], {
      ...process.env,
    });

  /** Starts the daemon with the unit's own ExecStart, as systemd would (its RuntimeDirectory is runDir here). */
  async function startDaemon(): Promise<void> {
    const [file, ...args] = execStart(await readFile(helperLayout(prefix).service, "utf8"));
    const [cmd, argv] = inPrivateEtc("ip", ["netns", "exec", lab.host, file!, ...args]);
    daemon = spawn(cmd, argv, {
      env: { ...process.env, MKTUNNEL_HELPER_SOCKET: socket() },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    daemon.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const started = daemon;
    const closed = new Promise((r) => started.once("close", r));
    const outcome = await eventually(
      async () =>
        started.exitCode !== null
          ? "exited"
          : existsSync(`${socket()}.secret`) && existsSync(socket()) && (await daemonAnswers()) && "answers",
      { timeoutMs: 10_000, everyMs: 20, what: "the daemon's socket" },
    );
    if (outcome === "exited") {
      await closed;
      throw new Error(`the daemon exited: ${stderr}`);
    }
  }

  /** `mktunnel start` as the test user, with their PATH and MINIKUBE_HOME, in the lab's host namespace. */
  async function startAsUser(): Promise<{
    child: ChildProcess;
    lines: string[];
    ready: Promise<void>;
    stderr: () => string;
  }> {
    // The user runs the mktunnel the package installed (readable by all), not the checkout, which may be private.
    const layout = helperLayout(prefix);
    const [file, args] = user.as(
      layout.runtime,
      layout.cli,
      "start",
      "--json",
      "--mode",
      "route",
      "--no-lb",
      "--no-dns",
      "--poll-interval",
      "300",
    );
    const env = {
      PATH: userBin,
      HOME: fake.root,
      MINIKUBE_HOME: fake.root,
      FAKE_MINIKUBE_STATE: fake.stateDir,
      KUBECONFIG: join(fake.root, "none"),
      MKTUNNEL_HELPER_SOCKET: socket(),
      TMPDIR: tmpdir(),
    };
    // The user's PATH has no setpriv either: name it by its full path.
    const setpriv = (await run("sh", ["-c", `command -v ${file}`])).stdout.trim();
    const child = spawn("ip", ["netns", "exec", lab.host, setpriv, ...args], {
      cwd: "/",
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        lines.push(line);
        if (line.includes('"event":"ready"')) resolve();
      });
      child.once("exit", (code) => reject(new Error(`mktunnel exited with ${code}: ${stderr}`)));
    });
    return { child, lines, ready, stderr: () => stderr };
  }

  /** A ping over the socket, as root can send it: the daemon answers while it runs. */
  async function daemonAnswers(): Promise<boolean> {
    const secret = await readFile(`${socket()}.secret`, "utf8").then(
      (s) => s.trim(),
      () => "",
    );
    return new Promise((resolve) => {
      const s = connect(socket(), () => s.write(`${JSON.stringify({ id: 1, secret, op: "ping" })}\n`));
      s.once("data", (d) => (s.destroy(), resolve(d.toString().includes('"pong"'))));
      s.once("error", () => resolve(false));
    });
  }

  it("install puts root-owned files nobody else can write, a unit systemd-analyze accepts, and records the user", async () => {
    const result = await install();
    expect(result.code, result.stderr).toBe(0);
    const layout = helperLayout(prefix);
    const config = JSON.parse(await readFile(layout.config, "utf8"));
    expect(config).toMatchObject({
      version: APP_VERSION,
      user: user.name,
      uid: user.uid,
      gid: user.gid,
      prefix,
      files: [
        layout.runtime,
        layout.cli,
        layout.helper,
        join(layout.libexec, "node_modules"),
        layout.service,
        layout.config,
      ],
    });
    const everyPath = async (path: string): Promise<string[]> =>
      (await stat(path)).isDirectory()
        ? [path, ...(await Promise.all((await readdir(path)).map((n) => everyPath(join(path, n))))).flat()]
        : [path];
    for (const path of [...(await Promise.all(config.files.map(everyPath))).flat(), ...config.dirs]) {
      const info = await stat(path);
      expect(info.uid, path).toBe(0);
      expect(info.mode & 0o022, path).toBe(0);
    }
    // systemd-analyze verify loads the unit as systemd would and prints every problem it finds.
    const verify = await run("systemd-analyze", ["verify", "--man=no", layout.service]).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => `failed: ${e.stdout}${e.stderr}`,
    );
    expect(verify.trim()).toBe("");
  });

  it("the test user, with no sudo on PATH, starts a tunnel through it; kill -9 of mktunnel takes its route away within 2 s while the helper runs on; a second start works; another user is refused", async () => {
    const installed = await install();
    expect(installed.code, installed.stderr).toBe(0);
    await startDaemon();
    const first = await startAsUser();
    await first.ready;
    expect(await lab.hostRoutes(), first.lines.join("\n")).toContain("10.96.0.0/12 via 192.168.49.2");
    first.child.kill("SIGKILL");
    const took = Math.round(
      await timeUntil(async () => !(await lab.hostRoutes()).includes("10.96.0.0/12"), {
        timeoutMs: 2000,
        what: "the route to go",
      }),
    );
    console.log(`[installed helper] route gone ${took} ms after kill -9 of mktunnel`);
    expect(await daemonAnswers()).toBe(true);
    // The entry goes right after its route (route first: a crash between the two leaves an entry cleanup can read).
    await eventually(
      async () => JSON.parse(await readFile(join(fake.root, ".minikube", "tunnels.json"), "utf8")).length === 0,
      { timeoutMs: 2000, what: "the entry to go" },
    );

    const second = await startAsUser();
    await second.ready;
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    second.child.kill("SIGTERM");
    await eventually(async () => !(await lab.hostRoutes()).includes("10.96.0.0/12"), {
      timeoutMs: 5000,
      what: "the route to go on SIGTERM",
    });

    const probe = `require("net").connect(${JSON.stringify(socket())}).on("connect",()=>{console.log("CONNECTED");process.exit(0)}).on("error",(e)=>{console.log(e.code);process.exit(0)})`;
    const nobody = await run("setpriv", [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      process.execPath,
      "-e",
      probe,
    ]);
    expect(nobody.stdout.trim()).toBe("EACCES");
    const status = JSON.parse(
      (
        await runCli(null, ["helper", "status", "--json", "--prefix", prefix], {
          ...process.env,
          MKTUNNEL_HELPER_SOCKET: socket(),
        })
      ).stdout,
    );
    expect(status).toMatchObject({ installed: true, running: true, version: APP_VERSION, user: user.name });
  });

  it("attacked by its user: the secret is the user's alone, a registry outside the user's directories or a relative one is refused at hello, and a reused uid gets nothing", async () => {
    const installed = await install();
    expect(installed.code, installed.stderr).toBe(0);
    await startDaemon();
    // Readable by the user alone (on macOS every user's primary group is staff).
    const secretInfo = await stat(`${socket()}.secret`);
    expect([secretInfo.uid, secretInfo.mode & 0o777]).toEqual([user.uid, 0o400]);
    const secret = (await readFile(`${socket()}.secret`, "utf8")).trim();
    const conn = await rawConnection(socket());
    const owner = await user.process();
    const hello = (registry: string) =>
      conn.send(JSON.stringify({ id: 1, secret, op: "hello", pid: owner.pid, registry }));
    const rootOwned = await mkdtemp(join(runDir, "etc-"));
    expect((await hello(join(rootOwned, "tunnels.json"))).error).toMatch(/belongs to uid 0, not to the helper's user/);
    expect((await hello("tunnels.json")).error).toBe("the registry must be an absolute path, not tunnels.json");
    expect((await hello(join(fake.root, ".minikube", "tunnels.json"))).ok).toBe(true);
    conn.socket.end();
    expect(await readdir(rootOwned)).toEqual([]);
    daemon?.kill("SIGTERM");
    await new Promise((r) => daemon!.once("exit", r));
    // The recorded name now means another uid (the user was removed and the number given to someone else): the daemon
    // serves nobody.
    const layout = helperLayout(prefix);
    const config = JSON.parse(await readFile(layout.config, "utf8"));
    await writeFile(
      layout.config,
      `${JSON.stringify({ ...config, uid: config.uid + 1, gid: config.gid + 1 }, null, 2)}\n`,
    );
    await expect(startDaemon()).rejects.toThrow(
      new RegExp(`the recorded user ${user.name} is uid ${user.uid} now, not uid ${user.uid + 1}`),
    );
  });

  it("an older installed helper is not used (the client says to upgrade and falls back); install again upgrades it; uninstall leaves nothing", async () => {
    const installed = await install();
    expect(installed.code, installed.stderr).toBe(0);
    const layout = helperLayout(prefix);
    // What an older release left: its bundle says another version.
    await writeFile(layout.helper, (await readFile(layout.helper, "utf8")).replaceAll(`"${APP_VERSION}"`, '"0.0.9"'));
    const config = JSON.parse(await readFile(layout.config, "utf8"));
    await writeFile(layout.config, `${JSON.stringify({ ...config, version: "0.0.9" }, null, 2)}\n`);
    await startDaemon();
    const old = await startAsUser();
    // The old helper is not used: the client says why and falls back to a per-session helper, which needs sudo, which
    // this user lacks.
    const outcome = await old.ready.then(
      () => "ready",
      (error: Error) => error.message,
    );
    old.child.kill("SIGTERM");
    expect(outcome).not.toBe("ready");
    expect(old.stderr()).toMatch(
      /the installed helper is version 0\.0\.9, this is .*: run `sudo mktunnel helper install` to upgrade it; asking for a password for this session instead/,
    );
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    daemon?.kill("SIGTERM");
    await new Promise((r) => daemon!.once("exit", r));

    const upgraded = await install();
    expect(upgraded.stdout).toContain(`upgraded the helper from 0.0.9 to ${APP_VERSION}`);
    await startDaemon();
    const fresh = await startAsUser();
    await fresh.ready;
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    fresh.child.kill("SIGTERM");
    daemon?.kill("SIGTERM");

    const removed = await runCli(null, ["helper", "uninstall", "--prefix", prefix], { ...process.env });
    expect(removed.stdout).toBe("removed 6 files\n");
    expect(await readdir(prefix)).toEqual([]);
  });
});
