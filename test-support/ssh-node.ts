import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { eventually } from "./eventually.js";
import type { NetnsLab } from "./netns-lab.js";

const run = promisify(execFile);

/** Every process below `pid`, children first found by `pgrep -P`. */
async function descendants(pid: number): Promise<number[]> {
  const { stdout } = await run("pgrep", ["-P", String(pid)]).catch(() => ({ stdout: "" }));
  const children = stdout.split("\n").filter(Boolean).map(Number);
  const below = await Promise.all(children.map(descendants));
  return [...children, ...below.flat()];
}

/** The account minikube's node image logs in with; it exists only inside sshd's private mount namespace. */
const USER = "docker";
const UID = 4243;

/**
 * A minikube node's SSH side, the way the docker driver exposes it: Debian's
 * sshd in the lab's node namespace for user `docker`, and a socat in the host
 * namespace publishing it on `127.0.0.1:<port>`, as Docker publishes port 22.
 * The `docker` user lives only in sshd's own mount namespace (a copy of /etc
 * with its account lines, mounted over /etc), so nothing on this machine changes.
 */
export class SshNode {
  private sshd: ChildProcess | null = null;
  private publisher: ChildProcess | null = null;
  publishedPort = 0;

  private constructor(
    private readonly lab: NetnsLab,
    readonly dir: string,
    /** The client key minikube keeps in MINIPATH/machines/<profile>/id_rsa. */
    readonly clientKeyPath: string,
  ) {}

  /** Generates host keys and the client key (written to `clientKeyPath`), then starts sshd and publishes it. */
  static async start(lab: NetnsLab, clientKeyPath: string, port = 32772): Promise<SshNode> {
    const dir = await mkdtemp(join(tmpdir(), "mkt-sshd-"));
    await chmod(dir, 0o755);
    const node = new SshNode(lab, dir, clientKeyPath);
    try {
      await node.makeKeys();
      await node.writeConfig();
      await node.startSshd();
      await node.publish(port);
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  private async makeKeys(): Promise<void> {
    await mkdir(join(this.clientKeyPath, ".."), { recursive: true });
    await rm(this.clientKeyPath, { force: true });
    await run("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "minikube", "-f", this.clientKeyPath]);
    await writeFile(join(this.dir, "authorized_keys"), await readFile(`${this.clientKeyPath}.pub`, "utf8"), {
      mode: 0o644,
    });
    await this.makeHostKeys();
  }

  private async makeHostKeys(): Promise<void> {
    for (const type of ["rsa", "ed25519"]) {
      await rm(join(this.dir, `host_${type}`), { force: true });
      await rm(join(this.dir, `host_${type}.pub`), { force: true });
      await run("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", join(this.dir, `host_${type}`)]);
    }
  }

  private async writeConfig(): Promise<void> {
    // A whole copy of /etc, mounted over /etc in sshd's own namespace. A copy of passwd bind-mounted over /etc/passwd
    // alone is dropped from that namespace the moment useradd or userdel (the helper tests, in parallel) rename a new
    // passwd into place, and sshd then refuses `docker`'s key ("Permission denied (publickey)") until it restarts.
    const etc = join(this.dir, "etc");
    await mkdir(etc, { mode: 0o755 });
    // Those same tools make and remove lock files in /etc while it is copied: a file gone between listing and copying
    // fails the copy, and the next try does not meet the same one.
    for (let attempt = 1; ; attempt++) {
      const copied = await run("cp", ["-a", "/etc/.", etc]).then(
        () => true,
        (error: Error) => (attempt === 5 ? Promise.reject(error) : false),
      );
      if (copied) break;
    }
    const entry = {
      passwd: `${USER}:x:${UID}:${UID}::${this.dir}:/bin/sh\n`,
      group: `${USER}:x:${UID}:\n`,
      shadow: `${USER}:*:19000:0:99999:7:::\n`,
    };
    for (const [name, line] of Object.entries(entry)) {
      const own = await readFile(join(etc, name), "utf8").catch(() => "");
      await writeFile(join(etc, name), own.replace(/\n?$/, "\n") + line, { mode: name === "shadow" ? 0o640 : 0o644 });
    }
    await writeFile(
      join(this.dir, "sshd_config"),
      [
        `ListenAddress ${this.lab.nodeIp}:22`,
        `HostKey ${join(this.dir, "host_rsa")}`,
        `HostKey ${join(this.dir, "host_ed25519")}`,
        `AuthorizedKeysFile ${join(this.dir, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AllowTcpForwarding yes",
        "PidFile none",
        `AllowUsers ${USER}`,
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
  }

  private async startSshd(): Promise<void> {
    const etc = join(this.dir, "etc");
    const script = [
      "set -e",
      `mount --bind ${etc} /etc`,
      "mount -t tmpfs tmpfs /run",
      "mkdir -m 755 /run/sshd",
      `exec /usr/sbin/sshd -D -e -f ${join(this.dir, "sshd_config")}`,
    ].join("\n");
    const child = spawn(
      "ip",
      ["netns", "exec", this.lab.node, "unshare", "-m", "--propagation", "private", "sh", "-c", script],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    this.sshd = child;
    const listening = async () =>
      child.exitCode !== null
        ? "exited"
        : !(await this.lab.connectFromHost(this.lab.nodeIp, 22, 500)).startsWith("E") && "listening";
    const outcome = await eventually(listening, { timeoutMs: 10_000, everyMs: 50, what: "sshd to listen" }).catch(
      () => {
        throw new Error(`sshd did not listen within 10 s: ${stderr}`);
      },
    );
    if (outcome === "exited") throw new Error(`sshd exited: ${stderr}`);
  }

  /**
   * Publishes the node's port 22 on 127.0.0.1:port of the host namespace, as Docker does (a new random port after each
   * restart).
   */
  async publish(port: number): Promise<void> {
    this.unpublish();
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        this.lab.host,
        "socat",
        `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,nodelay`,
        `TCP:${this.lab.nodeIp}:22,nodelay`,
      ],
      { stdio: "ignore" },
    );
    this.publisher = child;
    this.publishedPort = port;
    const listening = async () =>
      child.exitCode !== null
        ? "exited"
        : (await this.lab.connectFromHost("127.0.0.1", port, 500)) !== "ECONNREFUSED" && "listening";
    const outcome = await eventually(listening, {
      timeoutMs: 10_000,
      everyMs: 50,
      what: `socat to listen on 127.0.0.1:${port}`,
    }).catch(() => {
      throw new Error(`socat did not listen on 127.0.0.1:${port}`);
    });
    if (outcome === "exited") throw new Error(`socat on 127.0.0.1:${port} exited with ${child.exitCode}`);
  }

  unpublish(): void {
    this.publisher?.kill("SIGKILL");
    this.publisher = null;
  }

  /** What `ssh-keyscan -t rsa -p PORT 127.0.0.1` prints for this node, which `minikube ssh-host` passes on. */
  async keyscanLines(types: readonly string[] = ["rsa"]): Promise<string> {
    const lines: string[] = [];
    for (const type of types) {
      const [algorithm, key] = (await readFile(join(this.dir, `host_${type}.pub`), "utf8")).trim().split(/\s+/);
      lines.push(`[127.0.0.1]:${this.publishedPort} ${algorithm} ${key}`);
    }
    return `${lines.join("\n")}\n`;
  }

  /** The host's public keys as `cat /etc/ssh/ssh_host_*_key.pub` inside the container prints them. */
  async hostPublicKeys(): Promise<string> {
    return (await Promise.all(["rsa", "ed25519"].map((t) => readFile(join(this.dir, `host_${t}.pub`), "utf8")))).join(
      "",
    );
  }

  /**
   * The connections' sshd processes (the privileged monitor and its child) die, as when the node side drops the link;
   * the listener stays.
   */
  async killSessions(): Promise<void> {
    const listener = await this.listenerPid();
    if (listener) for (const pid of await descendants(listener)) process.kill(pid, "SIGKILL");
  }

  /** A node that comes back with other host keys (or an impostor on its port). */
  async changeHostKeys(): Promise<void> {
    await this.makeHostKeys();
    this.sshd?.kill("SIGKILL");
    await this.killSessions();
    await this.startSshd();
  }

  /** `ip netns exec`, `unshare` and `sh` each exec the next, so the child's pid is sshd's listener. */
  private async listenerPid(): Promise<number | null> {
    return this.sshd?.exitCode === null ? (this.sshd.pid ?? null) : null;
  }

  async stop(): Promise<void> {
    this.unpublish();
    await this.killSessions().catch(() => undefined);
    this.sshd?.kill("SIGKILL");
    await rm(this.dir, { recursive: true, force: true });
  }
}
