import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll } from "vitest";
import { type CliResult, StartedTunnel, runCli } from "./cli-process.js";
import { DockerLab } from "./docker-lab.js";
import { eventually } from "./eventually.js";
import { FakeMinikube } from "./fake-minikube.js";
import { type KubeSim, LAB_SERVICES, createLabServices, startKubeSim } from "./forward-lab.js";

const run = promisify(execFile);

/** What answers on the node for one address and port, as kube-proxy makes a Service answer there. */
export interface NodeServer {
  readonly address: string;
  readonly port: number;
  readonly reply: string;
}

/** The Services' backends, and 10.96.0.1:443 (the API's ClusterIP) for the product's reachability probe. */
const DEFAULT_SERVERS: readonly NodeServer[] = [
  ...LAB_SERVICES.map(([address, port, reply]) => ({ address, port, reply })),
  { address: "10.96.0.1", port: 443, reply: "ok" },
];

/** Where sshd is told to take a host key the node's /etc/ssh/ssh_host_*_key.pub files do not hold. */
const OTHER_KEY = "/tmp/mkt-other-host-key";
const OTHER_KEY_CONF = "/etc/ssh/sshd_config.d/zz-mkt-other-host-key.conf";

/** One test's own cluster and minikube on the shared engine. */
export interface DockerForwardCase extends KubeSim {
  readonly fake: FakeMinikube;
  /** The product's environment: the fake minikube, but the lab's real `docker` first on PATH. */
  readonly env: (extra?: Record<string, string>) => NodeJS.ProcessEnv;
  /** `mktunnel start --mode forward` in the lab namespace over `client` (MKTUNNEL_SSH_CLIENT); `args` follow. */
  readonly start: (client: string, ...args: string[]) => StartedTunnel;
  /** Another mktunnel command in the lab namespace, from another shell, with this case's kubeconfig. */
  readonly cli: (...args: string[]) => Promise<CliResult>;
}

/**
 * Forward mode's lab on a real Docker engine (docker-lab.ts): the engine's
 * network namespace is the host, where mktunnel, kubectl and kube-sim run; the
 * node is minikube's container, port 22 published on 127.0.0.1 by Docker, and
 * no direct path from the host to 192.168.49.0/24. A fake minikube answers
 * `minikube`, the real engine `docker` (container inspect, exec cat of the host
 * keys). kube-proxy's part is done in the node: each Service's ClusterIP on its
 * `lo`, a socat answering as the Service, node ports on 192.168.49.2, redone
 * after the container restarts in a new network namespace.
 *
 * One engine serves a whole file: `begin()` gives each test a new kube-sim and
 * fake minikube, and puts the node back as a fresh one would be.
 */
export class DockerForwardLab {
  private servers: NodeServer[] = [...DEFAULT_SERVERS];
  private readonly hostServers: ChildProcess[] = [];
  private current: { sim: ChildProcess; fake: FakeMinikube } | null = null;

  private constructor(
    readonly engine: DockerLab,
    private readonly keyDir: string,
  ) {}

  static async start(log?: (line: string) => void): Promise<DockerForwardLab> {
    const keyDir = await mkdtemp(join(tmpdir(), "mkt-dkfwd-"));
    const engine = await DockerLab.start({ clientKeyPath: join(keyDir, "id_rsa"), ...(log ? { log } : {}) }).catch(
      async (error) => {
        await rm(keyDir, { recursive: true, force: true });
        throw error;
      },
    );
    return new DockerForwardLab(engine, keyDir);
  }

  get netns(): string {
    return this.engine.netns;
  }

  get nodeIp(): string {
    return this.engine.nodeIp;
  }

  /** A new cluster and minikube for one test, against a node as it is after a clean start. */
  async begin(): Promise<DockerForwardCase> {
    await this.resetNode();
    const fake = await FakeMinikube.create();
    await fake.addProfile({ name: this.engine.profile, nodeIp: this.engine.nodeIp });
    const key = join(fake.miniPath, "machines", this.engine.profile, "id_rsa");
    await mkdir(join(key, ".."), { recursive: true });
    for (const suffix of ["", ".pub"]) await copyFile(join(this.keyDir, `id_rsa${suffix}`), `${key}${suffix}`);
    await chmod(key, 0o600);
    const kube = await startKubeSim(this.netns).catch(async (error) => {
      await fake.destroy();
      throw error;
    });
    this.current = { sim: kube.sim, fake };
    await createLabServices(kube.kubectl, fake.root);
    const env = (extra: Record<string, string> = {}) => {
      const {
        DOCKER_CONTEXT: _context,
        DOCKER_HOST: _host,
        DOCKER_CONFIG: _config,
        PATH: path,
        ...rest
      } = fake.env({ KUBECONFIG: kube.kubeconfig, ...extra });
      // The fake ships a `docker` of its own; the lab's must come first.
      return this.engine.env({ ...(rest as Record<string, string>), PATH: `${this.engine.binDir}${delimiter}${path}` });
    };
    return {
      ...kube,
      fake,
      env,
      start: (client, ...args) =>
        StartedTunnel.start(this.netns, ["--mode", "forward", ...args], env({ MKTUNNEL_SSH_CLIENT: client })),
      cli: (...args) => runCli(this.netns, args, env()),
    };
  }

  /** Ends begin()'s case: its kube-sim, fake minikube and this machine's servers. */
  async end(): Promise<void> {
    for (const child of this.hostServers.splice(0)) child.kill("SIGKILL");
    if (!this.current) return;
    const { sim, fake } = this.current;
    this.current = null;
    if (sim.exitCode === null && sim.signalCode === null) {
      const exited = new Promise((resolve) => sim.once("exit", resolve));
      sim.kill("SIGTERM");
      await exited;
    }
    await fake.destroy();
  }

  async destroy(): Promise<void> {
    await this.end();
    await this.engine.destroy();
    await rm(this.keyDir, { recursive: true, force: true });
  }

  /**
   * The node as a clean start leaves it: sshd presenting its own host keys, running, no SSH session of an earlier
   * test, and only the default servers (an earlier test's are stopped, their addresses removed).
   */
  private async resetNode(): Promise<void> {
    // What an earlier test's tunnel left on the engine (UDP relays after a kill -9, say) is not this test's.
    const others = (await this.engine.dockerOk(["ps", "-a", "--format", "{{.Names}}"]))
      .split("\n")
      .filter((name) => name && name !== this.engine.profile);
    if (others.length > 0) await this.engine.dockerOk(["rm", "-f", ...others]);
    if ((await this.engine.nodePid()) === 0) await this.engine.dockerOk(["start", this.engine.profile]);
    if ((await this.engine.exec(["test", "-e", OTHER_KEY_CONF])).exitCode === 0) {
      await this.engine.exec(["rm", "-f", OTHER_KEY_CONF, OTHER_KEY, `${OTHER_KEY}.pub`]);
      await this.engine.exec(["kill", "-HUP", "1"]);
      await this.engine.waitForSsh();
      // Until sshd has read its configuration again, the old process answers with the other key.
      await this.waitForHostKey("/etc/ssh/ssh_host_ed25519_key.pub");
    }
    await this.engine.waitForSsh();
    await this.killSessions();
    await this.engine.exec(["pkill", "-KILL", "-x", "socat"]);
    this.servers = [...DEFAULT_SERVERS];
    await this.kubeProxy();
  }

  /** kube-proxy's part, (re)done in the node's current network namespace. */
  async kubeProxy(): Promise<void> {
    await this.nodeNetns("ip", "addr", "flush", "dev", "lo", "scope", "global");
    await Promise.all(this.servers.map((server) => this.startServer(server)));
  }

  /** From now on `address:port` answers `reply` on the node (added to what kubeProxy() restores). */
  async serveOnNode(address: string, port: number, reply: string): Promise<void> {
    const server = { address, port, reply };
    this.servers.push(server);
    await this.startServer(server);
  }

  private async startServer({ address, port, reply }: NodeServer): Promise<void> {
    if (address !== this.engine.nodeIp) await this.nodeNetns("ip", "addr", "replace", `${address}/32`, "dev", "lo");
    // The reply goes in the environment: socat strips quotes from its address, so a reply with spaces cannot be quoted.
    await this.engine.startInNode(
      ["socat", `TCP-LISTEN:${port},bind=${address},fork,reuseaddr`, "SYSTEM:printenv MKT_REPLY | head -c -1"],
      { protocol: "tcp", address, port },
      { MKT_REPLY: reply },
    );
  }

  private async nodeNetns(file: string, ...args: string[]): Promise<void> {
    const result = await this.engine.inNodeNetns(file, args);
    if (result.exitCode !== 0) throw new Error(`${file} ${args.join(" ")} in the node failed: ${result.stderr.trim()}`);
  }

  /** A server in the host namespace: another program on this machine. */
  async serveOnHost(address: string, port: number, reply: string): Promise<void> {
    const script = `require("net").createServer((s) => { s.on("error", () => {}); s.end(${JSON.stringify(reply)}); }).listen(${port}, ${JSON.stringify(address)}, () => console.log("listening"))`;
    const child = spawn("ip", ["netns", "exec", this.netns, process.execPath, "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.hostServers.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`a server on ${address}:${port} exited with ${code}`)));
    });
  }

  /** Connects from the host namespace; what the server said, else the error code or TIMEOUT. */
  connect(address: string, port: number): Promise<string> {
    return this.engine.connect(address, port);
  }

  async hostRoutes(): Promise<string> {
    return (await run("ip", ["-n", this.netns, "-4", "route", "show"])).stdout;
  }

  /** The node side drops the link: every sshd but the listener (the container's init) is killed. */
  async killSessions(): Promise<void> {
    await this.engine.exec(["sh", "-c", 'for p in $(pgrep -x sshd); do [ "$p" = 1 ] || kill -9 "$p"; done']);
  }

  /** `docker stop`: sshd, the servers and the published port go with the container. */
  async stopNode(): Promise<void> {
    const before = this.engine.sshPort;
    await this.engine.dockerOk(["stop", this.engine.profile]);
    await eventually(async () => (await this.engine.connect("127.0.0.1", before)) === "ECONNREFUSED", {
      what: `127.0.0.1:${before} to stop answering`,
    });
  }

  /** `docker start`: a new host port for 22 and a new network namespace, where kube-proxy's part is redone. */
  async startNode(): Promise<number> {
    await this.engine.dockerOk(["start", this.engine.profile]);
    const port = await this.engine.waitForSsh();
    await this.kubeProxy();
    return port;
  }

  /**
   * sshd presents a host key the node's /etc/ssh/ssh_host_*_key.pub files do not hold (an impostor, or a node whose
   * keys changed behind the engine's back): a drop-in naming only that key, read again on SIGHUP.
   */
  async presentOtherHostKey(): Promise<void> {
    const made = await this.engine.exec([
      "sh",
      "-c",
      `ssh-keygen -q -t ed25519 -N '' -f ${OTHER_KEY} && echo 'HostKey ${OTHER_KEY}' > ${OTHER_KEY_CONF} && kill -HUP 1`,
    ]);
    if (made.exitCode !== 0) throw new Error(`could not give sshd another host key: ${made.stderr.trim()}`);
    await this.waitForHostKey(`${OTHER_KEY}.pub`);
  }

  /** Until sshd, through the published port, presents the key whose public half is `file` in the node. */
  private async waitForHostKey(file: string): Promise<void> {
    const key = (await this.engine.exec(["cat", file])).stdout.split(" ")[1];
    if (!key) throw new Error(`no host key in ${file} in the node`);
    await eventually(
      async () => {
        const port = String(this.engine.sshPort);
        const scan = await this.engine.inNetns("ssh-keyscan", ["-T", "2", "-t", "ed25519", "-p", port, "127.0.0.1"]);
        return scan.stdout.includes(key);
      },
      { timeoutMs: 15_000, everyMs: 100, what: `sshd to present the key in ${file}` },
    );
  }
}

/**
 * One engine for the describe block this is called in, started before its tests (`started` gets it) and destroyed after
 * them.
 */
export function useDockerForwardLab(started: (lab: DockerForwardLab) => void): void {
  let lab: DockerForwardLab | undefined;
  beforeAll(async () => {
    lab = await DockerForwardLab.start(console.log);
    started(lab);
  }, 600_000);
  afterAll(async () => {
    await lab?.destroy();
  }, 120_000);
}
