import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { CommandRunner } from "../src/engine/system/command-runner.js";
import { execFileRunner } from "../src/engine/system/command-runner.js";

const run = promisify(execFile);

/** Integration tests need root and `ip netns`; elsewhere they skip and say why. */
export function labUnavailableReason(): string | null {
  if (process.platform !== "linux") return "network-namespace lab needs Linux";
  if (process.getuid?.() !== 0) return "network-namespace lab needs root (CI runs as root)";
  return null;
}

export const LAB_PREFIX = "mkt-";

/** Names carry the creating pid so a crashed run's namespaces can be swept later. */
function labName(role: string): string {
  return `${LAB_PREFIX}${role}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run("ip", args);
  return stdout;
}

/**
 * The test lab (docs/architecture.md, "Tests"): a "host" namespace and a "node" namespace joined by a veth pair,
 * host end 192.168.49.1/24, node end 192.168.49.2/24. Everything stays inside
 * the two namespaces, which are deleted on destroy.
 */
export class NetnsLab {
  readonly host = labName("h");
  readonly node = labName("n");
  readonly hostIp = "192.168.49.1";
  readonly nodeIp = "192.168.49.2";
  private readonly children: ChildProcess[] = [];

  static async create(): Promise<NetnsLab> {
    const lab = new NetnsLab();
    try {
      await lab.setUp();
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  private async setUp(): Promise<void> {
    await ip("netns", "add", this.host);
    await ip("netns", "add", this.node);
    await ip("link", "add", "mkt0", "netns", this.host, "type", "veth", "peer", "name", "mkt1", "netns", this.node);
    await ip("-n", this.host, "addr", "add", `${this.hostIp}/24`, "dev", "mkt0");
    await ip("-n", this.node, "addr", "add", `${this.nodeIp}/24`, "dev", "mkt1");
    await ip("-n", this.host, "-6", "addr", "add", "fd00:49::1/64", "dev", "mkt0", "nodad");
    await ip("-n", this.node, "-6", "addr", "add", "fd00:49::2/64", "dev", "mkt1", "nodad");
    for (const [ns, dev] of [
      [this.host, "mkt0"],
      [this.node, "mkt1"],
    ] as const) {
      await ip("-n", ns, "link", "set", dev, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
    }
  }

  /** A second node, as a second minikube profile would have, on the same bridge-less link. */
  async addNodeAddress(address: string): Promise<void> {
    await ip("-n", this.node, "addr", "add", `${address}/24`, "dev", "mkt1");
  }

  /** The node machine goes away (stopped container or VM): its link drops, so nothing answers at its address. */
  async setNodeLink(up: boolean): Promise<void> {
    await ip("-n", this.node, "link", "set", "mkt1", up ? "up" : "down");
  }

  /** The node no longer has this address (it came back with another one). */
  async removeNodeAddress(address: string): Promise<void> {
    await ip("-n", this.node, "addr", "del", `${address}/24`, "dev", "mkt1");
  }

  /** Put a service address on the node's loopback, as kube-proxy makes it answer. */
  async addServiceAddress(address: string): Promise<void> {
    await ip("-n", this.node, "addr", "add", address.includes(":") ? `${address}/128` : `${address}/32`, "dev", "lo");
  }

  /** Runs commands inside the host namespace, as the engine does there. */
  hostRunner(): CommandRunner {
    return {
      run: (file, args, options) => execFileRunner.run("ip", ["netns", "exec", this.host, file, ...args], options),
    };
  }

  async hostRoutes(family: 4 | 6 = 4): Promise<string> {
    return ip("-n", this.host, family === 6 ? "-6" : "-4", "route", "show");
  }

  async addHostRoute(...args: string[]): Promise<void> {
    await ip("-n", this.host, "route", "add", ...args);
  }

  /** A TCP server in the node namespace that answers `reply` ("ok") on connect. */
  /**
   * A server that answers `reply` and closes: in the node namespace (a Service's backend), or in the host's (another
   * program on this machine).
   */
  async startTcpServer(address: string, port: number, reply = "ok", where: "node" | "host" = "node"): Promise<void> {
    const script = `require("net").createServer((s) => { s.on("error", () => {}); s.end(${JSON.stringify(reply)}); }).listen(${port}, ${JSON.stringify(address)}, () => console.log("listening"))`;
    const child = spawn(
      "ip",
      ["netns", "exec", where === "node" ? this.node : this.host, process.execPath, "-e", script],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`TCP server in the ${where} namespace exited with ${code}`)));
    });
  }

  /** Connects from the host namespace; resolves with what the server said, or the error code. */
  async connectFromHost(address: string, port: number, timeoutMs = 1500): Promise<string> {
    const script = `const s=require("net").connect(${port}, ${JSON.stringify(address)});let d="";s.setTimeout(${timeoutMs},()=>{console.log("TIMEOUT");process.exit(0)});s.on("data",(c)=>d+=c);s.on("end",()=>{console.log(d);process.exit(0)});s.on("error",(e)=>{console.log(e.code);process.exit(0)});`;
    const { stdout } = await run("ip", ["netns", "exec", this.host, process.execPath, "-e", script]);
    return stdout.trim();
  }

  /**
   * Network checks made from inside the host namespace, for an engine that
   * runs in the test process: its own connects would leave through this
   * machine's default route instead of reaching the lab.
   */
  hostNetwork() {
    return {
      probe: async (host: string, port: number) => {
        const started = performance.now();
        const said = await this.connectFromHost(host, port, 1000);
        const ok = said !== "TIMEOUT" && !/^E[A-Z]+$/.test(said);
        return {
          target: `${host}:${port}`,
          ok,
          ...(ok ? { latencyMs: Math.round(performance.now() - started) } : { error: said }),
          checkedAt: new Date().toISOString(),
        };
      },
      nodeAnswers: async (host: string, port: number) => {
        const said = await this.connectFromHost(host, port, 1000);
        return said !== "TIMEOUT" && said !== "EHOSTUNREACH" && said !== "ENETUNREACH";
      },
    };
  }

  async destroy(): Promise<void> {
    for (const child of this.children) child.kill("SIGKILL");
    for (const ns of [this.host, this.node]) await ip("netns", "del", ns).catch(() => undefined);
  }
}

/** Deletes lab namespaces left by test processes that no longer exist. */
export async function sweepStaleLabs(): Promise<string[]> {
  const swept: string[] = [];
  const list = await ip("netns", "list").catch(() => "");
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const match = /^mkt-[a-z]+-(\d+)-[0-9a-f]+$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      await ip("netns", "del", name).catch(() => undefined);
      swept.push(name);
    }
  }
  return swept;
}
