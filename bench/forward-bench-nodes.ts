import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DockerLab } from "../test-support/docker-lab.js";
import { NetnsLab } from "../test-support/netns-lab.js";
import { SshNode } from "../test-support/ssh-node.js";
import type { BenchHost } from "./forward-bench-parts.js";

export type Login = { sshPort: number; key: string; hostKeys: string };

/** Where the forward benchmark's node runs, and what it needs of it. */
export interface BenchNode {
  readonly lab: BenchHost;
  readonly login: Login;
  addServiceAddress(ip: string): Promise<void>;
  /** A program in the node's network namespace (the Service's backend). */
  spawnInNode(argv: readonly string[]): ChildProcess;
  connectFromHost(address: string, port: number, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

/** sshd in the lab's node namespace, published on the host namespace's 127.0.0.1 by socat. */
export async function netnsBenchNode(dir: string): Promise<BenchNode> {
  const lab = await NetnsLab.create();
  const key = join(dir, "id_rsa");
  const node = await SshNode.start(lab, key).catch(async (error) => {
    await lab.destroy();
    throw error;
  });
  const hostKeys = join(dir, "host-keys");
  await writeFile(hostKeys, await node.keyscanLines());
  return {
    lab,
    login: { sshPort: node.publishedPort, key, hostKeys },
    addServiceAddress: (ip) => lab.addServiceAddress(ip),
    spawnInNode: (argv) => spawn("ip", ["netns", "exec", lab.node, ...argv], { stdio: ["ignore", "pipe", "inherit"] }),
    connectFromHost: (address, port, timeoutMs) => lab.connectFromHost(address, port, timeoutMs),
    close: async () => {
      await node.stop();
      await lab.destroy();
    },
  };
}

/** minikube's container in the real Docker engine (test-support/docker-lab.ts): port 22 published by docker-proxy. */
export async function dockerBenchNode(dir: string): Promise<BenchNode> {
  const key = join(dir, "id_rsa");
  const engine = await DockerLab.start({ clientKeyPath: key });
  const hostKeys = join(dir, "host-keys");
  const scan = await engine.inNetns("ssh-keyscan", ["-t", "rsa", "-p", String(engine.sshPort), "127.0.0.1"]);
  await writeFile(hostKeys, scan.stdout);
  const pid = await engine.nodePid();
  return {
    lab: { host: engine.netns },
    login: { sshPort: engine.sshPort, key, hostKeys },
    addServiceAddress: async (ip) => {
      const added = await engine.inNodeNetns("ip", ["addr", "replace", `${ip}/32`, "dev", "lo"]);
      if (added.exitCode !== 0) throw new Error(`cannot add ${ip} in the node: ${added.stderr.trim()}`);
    },
    spawnInNode: (argv) =>
      spawn("nsenter", ["-t", String(pid), "-n", ...argv], { stdio: ["ignore", "pipe", "inherit"] }),
    connectFromHost: (address, port, timeoutMs) => engine.connect(address, port, timeoutMs),
    close: () => engine.destroy(),
  };
}
