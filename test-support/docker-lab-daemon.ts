import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, mkdir, open, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { cgroupMountScript, cgroupPids, labCgroupDirs, removeCgroups, unifiedCgroup } from "./docker-lab-cgroups.js";
import { eventually } from "./eventually.js";

const run = promisify(execFile);

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export const DOCKER_LAB_PREFIX = "mkt-dk-";
const NAME = /^mkt-dk-(\d+)-[0-9a-f]+$/;

/**
 * The Docker lab's daemon: Debian's dockerd (with its containerd and runc) in
 * a network and mount namespace of its own, everything it starts in a cgroup
 * named after the lab, and the docker CLI pointed at it. DockerLab runs the
 * node on it.
 */
export class DockerDaemon {
  readonly subnet = "192.168.49.0/24";
  /** Put first on PATH: a `docker` that reaches this lab's daemon whatever the environment says. */
  readonly binDir: string;
  readonly dockerHost: string;
  private daemon: ChildProcess | null = null;
  private destroyed = false;

  protected constructor(
    /** Also the network namespace's name and the lab's cgroup name. */
    readonly netns: string,
    readonly dir: string,
    private readonly dockerCli: string,
  ) {
    this.binDir = join(dir, "bin");
    this.dockerHost = `unix://${join(dir, "docker.sock")}`;
  }

  /** Starts dockerd and waits until it answers; resolves with how long that took, in ms. */
  protected async startDaemon(): Promise<number> {
    const started = performance.now();
    await mkdir(this.binDir, { recursive: true, mode: 0o755 });
    await mkdir(join(this.dir, "cli"));
    const unified = await unifiedCgroup();
    if (!unified)
      throw new Error("no cgroup2 hierarchy: the lab tells the engine's traffic from the tests' by its cgroup2 path");
    // Everything the daemon starts (containerd, shims, docker-proxy, the containers) is born in this cgroup, which is
    // how teardown finds it.
    const tracking = join(unified.mountPoint, unified.ownPath, this.netns);
    await mkdir(tracking);
    await run("ip", ["netns", "add", this.netns]);
    await run("ip", ["-n", this.netns, "link", "set", "lo", "up"]);
    await this.blockDirectPath(join(unified.ownPath, this.netns));
    const script = [
      "set -e",
      // dockerd finds containerd, runc, docker-proxy and iptables on PATH.
      'PATH="$PATH:/usr/sbin:/sbin"',
      ...(await cgroupMountScript()),
      // dockerd and containerd keep state under /run and /etc/docker whatever their flags say (key.json, plugins):
      // ours, in this mount namespace only.
      "mount -t tmpfs -o mode=755 tmpfs /run",
      "mount -t tmpfs -o mode=755 tmpfs /etc/docker",
      `echo $$ > '${join(tracking, "cgroup.procs")}'`,
      [
        "exec dockerd",
        `--data-root '${join(this.dir, "data")}'`,
        `--exec-root '${join(this.dir, "exec")}'`,
        `--pidfile '${join(this.dir, "dockerd.pid")}'`,
        `-H '${this.dockerHost}'`,
        // Relative: runc puts the containers below its own cgroups, never at the top of a hierarchy.
        `--cgroup-parent '${this.netns}'`,
        "--exec-opt native.cgroupdriver=cgroupfs",
      ].join(" "),
    ].join("\n");
    const logFile = await open(join(this.dir, "dockerd.log"), "a");
    // setpriv --pdeathsig: if the test process dies without destroy(), dockerd gets SIGTERM and stops its containers.
    // ip netns exec, setpriv and unshare each exec the next, so the child's pid is dockerd's.
    const args = [
      "netns",
      "exec",
      this.netns,
      "setpriv",
      "--pdeathsig",
      "TERM",
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
    ];
    this.daemon = spawn("ip", args, { stdio: ["ignore", logFile.fd, logFile.fd] });
    await logFile.close();
    const daemon = this.daemon;
    const outcome = await eventually(
      async () =>
        daemon.exitCode !== null || daemon.signalCode !== null ? "exited" : (await this.ping()) && "answers",
      { timeoutMs: 60_000, everyMs: 100, what: "dockerd to answer" },
    ).catch(async () => {
      throw new Error(`dockerd did not answer within 60 s:\n${await this.daemonLog()}`);
    });
    if (outcome === "exited")
      throw new Error(`dockerd exited (${daemon.exitCode ?? daemon.signalCode}):\n${await this.daemonLog()}`);
    await writeFile(
      join(this.binDir, "docker"),
      `#!/bin/sh\n# This lab's daemon, whatever DOCKER_HOST or context the caller's environment names.\nunset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH\nexport DOCKER_HOST='${this.dockerHost}' DOCKER_CONFIG='${join(this.dir, "cli")}'\nexec '${this.dockerCli}' "$@"\n`,
    );
    await chmod(join(this.binDir, "docker"), 0o755);
    return Math.round(performance.now() - started);
  }

  /**
   * On macOS and Windows the node's bridge lives in Docker's VM: only the
   * published ports reach it. Here the bridge is in the lab namespace, so
   * locally made packets to its subnet are refused unless their socket
   * belongs to the engine's cgroup (docker-proxy dials 192.168.49.2:22 from
   * this namespace, as root, like the tests, so neither uid nor namespace
   * tells them apart; the cgroup does). Sockets of the tests, curl and ssh
   * get "host unreachable" at once (a plain DROP would make every check
   * wait for a timeout). That ICMP answer is itself sent to our own address
   * on the bridge, by a kernel socket outside the engine's cgroup, so the
   * namespace's own addresses are left out, or it would be refused too and
   * the connect would hang. Forwarded packets do not pass OUTPUT.
   */
  private async blockDirectPath(cgroupPath: string): Promise<void> {
    const match = [
      "-d",
      this.subnet,
      "-m",
      "addrtype",
      "!",
      "--dst-type",
      "LOCAL",
      "-m",
      "cgroup",
      "!",
      "--path",
      cgroupPath,
    ];
    await run("ip", [
      "netns",
      "exec",
      this.netns,
      "iptables",
      "-w",
      "-I",
      "OUTPUT",
      ...match,
      "-j",
      "REJECT",
      "--reject-with",
      "icmp-host-unreachable",
    ]);
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: join(this.dir, "docker.sock"), path: "/_ping", timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
      req.end();
    });
  }

  async daemonLog(lines = 20): Promise<string> {
    const text = await readFile(join(this.dir, "dockerd.log"), "utf8").catch(() => "");
    return text.trim().split("\n").slice(-lines).join("\n");
  }

  /** Runs the docker CLI against this lab; never throws for a non-zero exit. */
  docker(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        join(this.binDir, "docker"),
        [...args],
        { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          resolve({ stdout, stderr, exitCode: error ? (typeof code === "number" ? code : 1) : 0 });
        },
      );
    });
  }

  async dockerOk(args: readonly string[], timeoutMs?: number): Promise<string> {
    const result = await this.docker(args, timeoutMs);
    if (result.exitCode !== 0)
      throw new Error(`docker ${args.slice(0, 2).join(" ")} failed (${result.exitCode}): ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** The environment for the product under test: the lab's `docker` first on PATH, DOCKER_HOST set too. */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const { DOCKER_CONTEXT: _context, ...rest } = process.env;
    return {
      ...rest,
      PATH: `${this.binDir}${delimiter}${process.env.PATH ?? ""}`,
      DOCKER_HOST: this.dockerHost,
      DOCKER_CONFIG: join(this.dir, "cli"),
      ...extra,
    };
  }
  /** Runs a program in the lab namespace, where 127.0.0.1 is where Docker publishes. */
  async inNetns(
    file: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
  ): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        "ip",
        ["netns", "exec", this.netns, file, ...args],
        { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, killSignal: "SIGKILL" },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          resolve({ stdout, stderr, exitCode: error ? (typeof code === "number" ? code : 1) : 0 });
        },
      );
    });
  }

  /** Connects from the lab namespace; the first line the server says, else the error code or TIMEOUT. */
  async connect(address: string, port: number, timeoutMs = 1500): Promise<string> {
    const script = `const s=require("net").connect(${port},${JSON.stringify(address)});let d="";s.setTimeout(${timeoutMs},()=>{console.log(d||"TIMEOUT");process.exit(0)});s.on("data",(c)=>{d+=c;if(d.includes("\\n")){console.log(d.split("\\n")[0]);process.exit(0)}});s.on("end",()=>{console.log(d);process.exit(0)});s.on("error",(e)=>{console.log(e.code);process.exit(0)});`;
    return (await this.inNetns(process.execPath, ["-e", script])).stdout.trim();
  }

  /** What is left of this lab: processes, namespace, cgroups, mounts, files. Empty after destroy(). */
  async leftovers(): Promise<string[]> {
    const found: string[] = [];
    const { stdout: ps } = await run("ps", ["-eo", "pid=,args="]);
    for (const line of ps.split("\n"))
      if (line.includes(this.dir) || line.includes(this.netns)) found.push(`process: ${line.trim()}`);
    if ((await run("ip", ["netns", "list"])).stdout.split("\n").some((l) => l.split(" ")[0] === this.netns))
      found.push(`namespace ${this.netns}`);
    for (const dir of await labCgroupDirs(this.netns))
      if (await stat(dir).catch(() => null)) found.push(`cgroup ${dir} (${(await cgroupPids(dir)).length} processes)`);
    for (const line of (await readFile("/proc/self/mountinfo", "utf8")).split("\n"))
      if (line.includes(this.dir)) found.push(`mount: ${line}`);
    if (await stat(this.dir).catch(() => null)) found.push(`directory ${this.dir}`);
    return found;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const daemon = this.daemon;
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      // Through the engine first, so it takes its containers, proxies and iptables rules down itself.
      const ids = (await this.docker(["ps", "-aq"], 15_000)).stdout.split("\n").filter(Boolean);
      if (ids.length > 0) await this.docker(["rm", "-f", ...ids], 30_000);
      const exited = new Promise<void>((resolve) => daemon.once("exit", () => resolve()));
      daemon.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    }
    const problems = await tearDownByName(this.netns, this.dir);
    if (problems.length > 0) console.warn(`[docker-lab] teardown of ${this.netns}: ${problems.join("; ")}`);
  }
}

/** Whatever is left of a lab, with or without its daemon: cgroups (and every process in them), namespace, files. */
async function tearDownByName(name: string, dir: string): Promise<string[]> {
  const problems = await removeCgroups(await labCgroupDirs(name));
  await run("ip", ["netns", "del", name]).catch(() => undefined);
  // Once its processes are gone the daemon's mount namespace is too, overlay mounts included, so this only removes
  // files.
  await rm(dir, { recursive: true, force: true }).catch((error: Error) =>
    problems.push(`cannot remove ${dir}: ${error.message}`),
  );
  return problems;
}

/**
 * Labs of test processes that died without destroy() (SIGKILL, a crash): found by name, in namespaces, cgroups and temp
 * dirs.
 */
export async function sweepStaleDockerLabs(): Promise<string[]> {
  const names = new Set<string>();
  for (const entry of await readdir(tmpdir()).catch(() => [] as string[])) names.add(entry);
  for (const line of (await run("ip", ["netns", "list"]).catch(() => ({ stdout: "" }))).stdout.split("\n"))
    names.add(line.split(" ")[0] ?? "");
  const unified = await unifiedCgroup();
  if (unified)
    for (const entry of await readdir(join(unified.mountPoint, unified.ownPath)).catch(() => [] as string[]))
      names.add(entry);
  const swept: string[] = [];
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1] ?? 0);
    if (!pid || pid === process.pid || alive(pid)) continue;
    await tearDownByName(name, join(tmpdir(), name));
    swept.push(name);
  }
  return swept;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
