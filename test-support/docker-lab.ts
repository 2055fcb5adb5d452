import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { type CliResult, DOCKER_LAB_PREFIX, DockerDaemon, sweepStaleDockerLabs } from "./docker-lab-daemon.js";
import { NODE_COMMAND, type NodeImage, nodeImage } from "./docker-lab-image.js";
import { eventually } from "./eventually.js";

const run = promisify(execFile);

function onPath(command: string): string | null {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"]) {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      // next one
    }
  }
  return null;
}

/** Why the Docker lab cannot run here (one reason), or null. */
export function dockerLabUnavailableReason(): string | null {
  if (process.platform !== "linux") return "the Docker lab needs Linux";
  if (process.getuid?.() !== 0) return "the Docker lab needs root (CI runs as root)";
  for (const [command, from] of [
    ["dockerd", "docker.io"],
    ["docker", "docker.io"],
    ["mmdebstrap", "mmdebstrap"],
    ["iptables", "iptables"],
    ["setpriv", "util-linux"],
    ["ip", "iproute2"],
  ]) {
    if (!onPath(command!)) return `no ${command} (apt-get install ${from}; .ci/run does)`;
  }
  // dockerd writes key.json there; it is covered with a tmpfs, which needs the directory docker.io ships.
  if (!existsSync("/etc/docker")) return "no /etc/docker (it comes with docker.io)";
  if (!/ - cgroup2 /.test(readFileSync("/proc/self/mountinfo", "utf8")))
    return "no cgroup2 hierarchy (the lab tells the engine's packets from the tests' by their cgroup)";
  return null;
}

export interface DockerLabOptions {
  /**
   * minikube's client key, MINIPATH/machines/<profile>/id_rsa; made (RSA, as minikube makes it) if it does not exist.
   */
  readonly clientKeyPath: string;
  readonly profile?: string;
  /** More container ports to publish on 127.0.0.1 with a random host port, e.g. "5353/udp", "8443/tcp". */
  readonly publish?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface DockerLabTimings {
  readonly image: NodeImage;
  readonly daemonMs: number;
  readonly importMs: number;
  readonly nodeMs: number;
  readonly totalMs: number;
}

/**
 * A real Docker engine (Debian's dockerd 20.10, its containerd and runc) in a
 * network namespace of its own, running the node as minikube's docker driver
 * does on macOS and Windows (docs/architecture.md, "Tests"): a bridge network
 * named after the profile, the node at 192.168.49.2, port 22 published on
 * the namespace's 127.0.0.1 by docker-proxy, and no direct path from the
 * namespace to the bridge for anything but the engine itself.
 */
export class DockerLab extends DockerDaemon {
  readonly nodeIp = "192.168.49.2";
  sshPort = 0;
  timings!: DockerLabTimings;

  private constructor(
    netns: string,
    dir: string,
    readonly profile: string,
    readonly clientKeyPath: string,
    dockerCli: string,
  ) {
    super(netns, dir, dockerCli);
  }

  static async start(options: DockerLabOptions): Promise<DockerLab> {
    const started = performance.now();
    const log = options.log ?? (() => undefined);
    await sweepStaleDockerLabs();
    const cli = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin"]
      .map((d) => join(d, "docker"))
      .find((p) => existsSync(p));
    if (!cli) throw new Error("no docker CLI on PATH");
    const name = `${DOCKER_LAB_PREFIX}${process.pid}-${randomBytes(3).toString("hex")}`;
    const lab = new DockerLab(name, join(tmpdir(), name), options.profile ?? "minikube", options.clientKeyPath, cli);
    try {
      const [image, daemonMs] = await Promise.all([nodeImage(log), lab.startDaemon()]);
      const importStarted = performance.now();
      await lab.dockerOk(
        ["import", "-c", `CMD ${JSON.stringify(NODE_COMMAND)}`, "-c", "EXPOSE 22", image.tarball, image.tag],
        300_000,
      );
      const importMs = Math.round(performance.now() - importStarted);
      const nodeStarted = performance.now();
      await lab.runNode(image.tag, options.publish ?? []);
      lab.timings = {
        image,
        daemonMs,
        importMs,
        nodeMs: Math.round(performance.now() - nodeStarted),
        totalMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  private async runNode(tag: string, publish: readonly string[]): Promise<void> {
    const p = this.profile;
    const labels = [`created_by.minikube.sigs.k8s.io=true`, `name.minikube.sigs.k8s.io=${p}`];
    await this.dockerOk([
      "network",
      "create",
      "--driver",
      "bridge",
      "--subnet",
      this.subnet,
      "--gateway",
      "192.168.49.1",
      ...labels.flatMap((l) => ["--label", l]),
      p,
    ]);
    const nodeLabels = [...labels, `mode.minikube.sigs.k8s.io=${p}`, "role.minikube.sigs.k8s.io="];
    const ports = ["22/tcp", ...publish].flatMap((port) => ["-p", `127.0.0.1::${port}`]);
    await this.dockerOk([
      "create",
      "--name",
      p,
      "--hostname",
      p,
      "--network",
      p,
      "--ip",
      this.nodeIp,
      ...ports,
      ...nodeLabels.flatMap((l) => ["--label", l]),
      tag,
    ]);
    if (!(await stat(this.clientKeyPath).catch(() => null))) {
      await mkdir(dirname(this.clientKeyPath), { recursive: true });
      await run("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "minikube", "-f", this.clientKeyPath]);
    }
    await this.dockerOk(["cp", `${this.clientKeyPath}.pub`, `${p}:/home/docker/.ssh/authorized_keys`]);
    await this.dockerOk(["start", p]);
    await this.waitForSsh();
  }

  /** Host port of a published container port, from the real `docker container inspect`. */
  async publishedPort(containerPort = "22/tcp"): Promise<number | null> {
    const [container] = JSON.parse(await this.dockerOk(["container", "inspect", this.profile])) as {
      NetworkSettings: { Ports: Record<string, { HostPort: string }[] | null> };
    }[];
    const port = Number(container?.NetworkSettings.Ports[containerPort]?.[0]?.HostPort);
    return port > 0 ? port : null;
  }

  /** Until sshd says its banner through the published port: docker-proxy accepts connections before sshd listens. */
  async waitForSsh(timeoutMs = 30_000): Promise<number> {
    let port: number | null = null;
    let said = "";
    const banner = async () => {
      port = await this.publishedPort();
      said = port ? await this.connect("127.0.0.1", port, 1000) : "no port";
      return port !== null && said.startsWith("SSH-2.0-") && port;
    };
    try {
      return (this.sshPort = await eventually(banner, { timeoutMs, everyMs: 100, what: "sshd's banner" }));
    } catch (error) {
      throw new Error(
        `no SSH banner from the node through 127.0.0.1:${port} within ${timeoutMs} ms (last: ${said || (error as Error).message})\n${(await this.docker(["logs", "--tail", "20", this.profile])).stderr}`,
      );
    }
  }

  /**
   * `docker restart`: Docker publishes port 22 again on another host port; resolves with it once sshd answers there.
   */
  async restartNode(): Promise<number> {
    await this.dockerOk(["restart", this.profile]);
    return this.waitForSsh();
  }

  /** The node's init process as this machine sees it (0 while the container is stopped). */
  async nodePid(): Promise<number> {
    return Number((await this.dockerOk(["container", "inspect", "-f", "{{.State.Pid}}", this.profile])).trim());
  }

  /**
   * Runs one of this machine's programs in the node container's network namespace only (nsenter), for what needs
   * capabilities the container lacks, as kube-proxy has them on a real node: addresses on its `lo`. `docker exec
   * --privileged` cannot be used: runc fails to apply the extra capabilities when the tests themselves run without
   * them. The namespace is the container's current one: after `docker stop`/`start` or `restart`, a new one.
   */
  async inNodeNetns(file: string, args: readonly string[], timeoutMs = 30_000): Promise<CliResult> {
    const pid = await this.nodePid();
    if (!pid) return { stdout: "", stderr: `${this.profile} is not running`, exitCode: 1 };
    return new Promise((resolve) => {
      execFile(
        "nsenter",
        ["-t", String(pid), "-n", file, ...args],
        { timeout: timeoutMs, killSignal: "SIGKILL" },
        (error, stdout, stderr) => {
          const code = (error as { code?: unknown } | null)?.code;
          resolve({ stdout, stderr, exitCode: error ? (typeof code === "number" ? code : 1) : 0 });
        },
      );
    });
  }

  /**
   * Starts a process in the node container in the background (`docker exec -d`) and waits until it listens on
   * `address:port` inside the node (`docker exec -d` returns before the process binds). It dies with the container.
   */
  async startInNode(
    args: readonly string[],
    listen: { protocol: "tcp" | "udp"; address: string; port: number },
    env: Record<string, string> = {},
  ): Promise<void> {
    const started = await this.docker([
      "exec",
      "-d",
      ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
      this.profile,
      ...args,
    ]);
    if (started.exitCode !== 0) throw new Error(`docker exec -d ${args[0]} failed: ${started.stderr.trim()}`);
    const local = `${listen.address}:${listen.port}`;
    await eventually(
      async () => {
        const { stdout } = await this.inNodeNetns("ss", ["-Hn", listen.protocol === "tcp" ? "-lt" : "-lu"]);
        return stdout.split("\n").some((line) => line.split(/\s+/)[3] === local);
      },
      { timeoutMs: 10_000, everyMs: 50, what: `${args[0]} to listen on ${local}/${listen.protocol} in the node` },
    );
  }

  /** `docker exec <profile> …` */
  exec(args: readonly string[], options: { detach?: boolean; user?: string } = {}): Promise<CliResult> {
    return this.docker([
      "exec",
      ...(options.detach ? ["-d"] : []),
      ...(options.user ? ["-u", options.user] : []),
      this.profile,
      ...args,
    ]);
  }
}
