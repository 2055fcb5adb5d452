import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { bundled } from "./bundles.js";
import { eventually } from "./eventually.js";
import { NetnsLab } from "./netns-lab.js";
import { inPrivateEtc } from "./private-etc.js";
import { mentions, stopProcesses } from "./processes.js";

const run = promisify(execFile);
export const HELPER_SCRIPT = bundled("helper-main");

/** A throw-away unprivileged user for helper tests, deleted afterwards. */
export class TestUser {
  private readonly processes = new Set<() => void>();

  private constructor(
    readonly name: string,
    readonly uid: number,
    readonly gid: number,
  ) {}

  static async create(): Promise<TestUser> {
    const name = `mkt${process.pid % 100000}${randomBytes(2).toString("hex")}`;
    await run("useradd", ["--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name]);
    const { stdout: uid } = await run("id", ["-u", name]);
    const { stdout: gid } = await run("id", ["-g", name]);
    return new TestUser(name, Number(uid), Number(gid));
  }

  /** argv prefix that runs a command as this user, with no supplementary groups. */
  as(...argv: string[]): [string, string[]] {
    return ["setpriv", [`--reuid=${this.uid}`, `--regid=${this.gid}`, "--clear-groups", ...argv]];
  }

  /**
   * A process of this user that lives until stopped: the pid a test's client
   * says it is at hello (the helper accepts only a pid of its user, since the
   * client's entries carry it).
   */
  async process(): Promise<{ pid: number; stop: () => void }> {
    const [file, args] = this.as("sleep", "infinity");
    const child = spawn(file, args, { stdio: "ignore" });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    // setpriv execs sleep in the same process, so the pid is the user's once the exec is done.
    await eventually(
      async () =>
        Number(
          (await run("ps", ["-o", "uid=", "-p", String(child.pid)]).catch(() => ({ stdout: "" }))).stdout.trim(),
        ) === this.uid,
      { timeoutMs: 5000, what: `pid ${child.pid} to run as ${this.name}` },
    ).catch(() => undefined);
    const stop = () => {
      this.processes.delete(stop);
      child.kill("SIGKILL");
    };
    this.processes.add(stop);
    return { pid: child.pid!, stop };
  }

  async destroy(): Promise<void> {
    for (const stop of [...this.processes]) stop();
    // userdel refuses while a process of the user runs: anything a test started as them goes first.
    await run("pkill", ["-KILL", "-u", String(this.uid)]).catch(() => undefined);
    // The killed processes take a moment to go, and userdel waits for none.
    const gone = async () =>
      (await run("userdel", [this.name]).then(
        () => true,
        () => false,
      )) ||
      !(await run("id", ["-u", this.name]).then(
        () => true,
        () => false,
      ));
    await eventually(gone, { timeoutMs: 2000, everyMs: 20, what: `user ${this.name} to be removed` }).catch(
      () => undefined,
    );
  }
}

/**
 * Files a helper start needs: a root-owned runtime dir, the user's MINIPATH, and a 0600 secret file owned by the user.
 */
export async function helperFiles(owner: { uid: number; gid: number }) {
  const root = await mkdtemp(join(tmpdir(), "mkt-helper-"));
  await chmod(root, 0o755);
  const runtimeDir = join(root, "run");
  const miniPath = join(root, "home", ".minikube");
  await mkdir(miniPath, { recursive: true });
  await chown(join(root, "home"), owner.uid, owner.gid);
  await chown(miniPath, owner.uid, owner.gid);
  const secretDir = join(root, "secret");
  await mkdir(secretDir, { mode: 0o700 });
  const secret = randomBytes(32).toString("hex");
  const secretFile = join(secretDir, "secret");
  await writeFile(secretFile, secret, { mode: 0o600 });
  await chown(secretFile, owner.uid, owner.gid);
  return {
    root,
    runtimeDir,
    miniPath,
    registry: join(miniPath, "tunnels.json"),
    logFile: join(miniPath, "helper.log"),
    secret,
    secretFile,
    socketPath: join(runtimeDir, `helper-${owner.uid}.sock`),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export type HelperFiles = Awaited<ReturnType<typeof helperFiles>>;

/** What every helper test stands on: a network lab, a test user, and the helper's files for that user. */
export async function createHelperLab(): Promise<{ lab: NetnsLab; user: TestUser; files: HelperFiles }> {
  const lab = await NetnsLab.create();
  const user = await TestUser.create();
  return { lab, user, files: await helperFiles(user) };
}

/**
 * Stops every helper that serves these files (a daemonized helper ends only
 * when its client goes, and a test that failed, or never connected, leaves it
 * running), then removes the lab, the user and the files.
 */
export async function destroyHelperLab(parts: { lab: NetnsLab; user: TestUser; files: HelperFiles }): Promise<void> {
  await stopHelpersOf(parts.files);
  await parts.lab.destroy();
  await parts.user.destroy();
  await parts.files.cleanup();
}

/**
 * Stops the helpers started for these files: each names its secret file, inside the files' folder, on its command line.
 */
export async function stopHelpersOf(files: { root: string }): Promise<void> {
  await stopProcesses(mentions(files.root));
}

/**
 * Starts the helper as root inside a namespace, daemonized as sudo would start it; `umask` as a service manager or sudo
 * might leave it.
 */
export async function startHelperIn(
  netns: string,
  files: HelperFiles,
  extra: readonly string[] = [],
  options: { umask?: string } = {},
): Promise<void> {
  const helper = [
    process.execPath,
    HELPER_SCRIPT,
    "--daemonize",
    "--secret-file",
    files.secretFile,
    "--runtime-dir",
    files.runtimeDir,
    "--log-file",
    files.logFile,
    "--registry",
    files.registry,
    ...extra,
  ];
  const command = options.umask ? ["sh", "-c", `umask ${options.umask} && exec "$@"`, "sh", ...helper] : helper;
  const [file, args] = inPrivateEtc("ip", ["netns", "exec", netns, ...command]);
  await run(file, args, { cwd: join(import.meta.dirname, "..") });
}

/** A raw line-protocol connection, so the tests can send anything at all. */
export async function rawConnection(socketPath: string) {
  const socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  createInterface({ input: socket }).on("line", (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else lines.push(line);
  });
  const next = () =>
    new Promise<Record<string, any>>((resolve) => {
      const take = (line: string) => resolve(JSON.parse(line));
      const queued = lines.shift();
      if (queued !== undefined) take(queued);
      else waiters.push(take);
    });
  return {
    socket,
    async send(payload: string): Promise<Record<string, any>> {
      socket.write(`${payload}\n`);
      return next();
    },
  };
}
