import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundles } from "../test-support/bundles.js";
import {
  type BenchHost,
  type BenchSpec,
  SERVER,
  loadClient,
  startForwarder,
  startSshL,
} from "./forward-bench-parts.js";
import { type BenchNode, type Login, dockerBenchNode, netnsBenchNode } from "./forward-bench-nodes.js";
import { median, round1 } from "./stats.js";

/** Forward mode's SSH clients (forward-link.ts), each measured against `ssh -N -L` in the same run. */
export const FORWARD_CLIENTS = ["openssh", "openssh-socks", "ssh2"] as const;
export type ForwardClient = (typeof FORWARD_CLIENTS)[number];

export interface ClientFigures {
  readonly throughput: { readonly MBps: number; readonly ratio: number };
  readonly latency: { readonly p50: number; readonly p99: number; readonly p50Ratio: number };
  readonly concurrent: { readonly ms: number; readonly failed: number };
  readonly scale: {
    readonly allListeningMs: number;
    readonly rssAddedMb: number;
    /** 200 NodePort Services, each on 127.0.0.1:<nodePort>. */
    readonly nodePorts: { readonly allListeningMs: number; readonly rssAddedMb: number };
  };
  /** The goals: ≥ 0.9× `ssh -N -L`'s throughput, ≤ 1.2× its connect → first byte p50. */
  readonly meetsGoals: boolean;
}

export interface ForwardBenchResult {
  readonly transferMb: number;
  readonly rounds: number;
  readonly latencySamples: number;
  /** The machine's load average (1, 5, 15 min) before and after: figures from a busy machine are not comparable. */
  readonly load: { readonly before: number[]; readonly after: number[] };
  readonly ssh: {
    readonly MBps: number;
    readonly p50: number;
    readonly p99: number;
    readonly concurrentMs: number;
    readonly concurrentFailed: number;
  };
  readonly clients: Record<ForwardClient, ClientFigures>;
  readonly scale: { readonly services: number; readonly ports: number };
  /** Where the node ran: sshd in a namespace behind socat, or minikube's container behind docker-proxy. */
  readonly node: "netns" | "docker";
}

const p = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;
const ms2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** Where each party listens: one Service per forwarder, each on its own address, and `ssh -L` on 127.0.0.2. */
const ADDRESS: Record<ForwardClient | "ssh", string> = {
  openssh: "127.70.0.1",
  "openssh-socks": "127.70.0.2",
  ssh2: "127.70.0.3",
  ssh: "127.0.0.2",
};
const PORT = 8080;
const TARGET = "10.96.0.20";

/**
 * Forward mode with each of its SSH clients against OpenSSH's `ssh -N -L`
 * (what minikube tunnel runs per Service), through the same sshd and the
 * same published port, in one run: throughput (alternating rounds, each
 * party's turn rotated), connect-to-first-byte latency, 100 connections at
 * once, and 200 Services × 2 ports on one link.
 */
export async function benchForward(
  options: { node?: "netns" | "docker"; transferMb?: number; latencySamples?: number; rounds?: number } = {},
): Promise<ForwardBenchResult> {
  const { transferMb = 200, latencySamples = 600, rounds = 9 } = options;
  const loadBefore = loadavg().map(round1);
  await buildBundles();
  const children: ChildProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), "mkt-fwd-bench-"));
  let node: BenchNode | null = null;
  try {
    node = options.node === "docker" ? await dockerBenchNode(dir) : await netnsBenchNode(dir);
    const { lab, login } = node;
    await node.addServiceAddress(TARGET);
    const server = node.spawnInNode([process.execPath, "-e", SERVER(transferMb), TARGET]);
    children.push(server);
    await new Promise((r) => server.stdout!.once("data", r));

    for (const client of FORWARD_CLIENTS) {
      const spec: BenchSpec = { ...WEB, address: ADDRESS[client] };
      children.push((await startForwarder(lab, client, login, [spec])).child);
    }
    children.push(startSshL(lab, `${ADDRESS.ssh}:${PORT}`, `${TARGET}:80`, login));
    while ((await node.connectFromHost(ADDRESS.ssh, PORT, 300)) === "ECONNREFUSED")
      await new Promise((r) => setTimeout(r, 50));

    const parties = [...FORWARD_CLIENTS, "ssh"] as const;
    type Party = (typeof parties)[number];
    const each = <T>() => Object.fromEntries(parties.map((x) => [x, [] as T[]])) as Record<Party, T[]>;
    const throughput = each<number>();
    for (let i = 0; i < rounds; i++)
      for (let j = 0; j < parties.length; j++) {
        const party = parties[(i + j) % parties.length]!;
        throughput[party].push((await loadClient(lab, ADDRESS[party], PORT, "T")).MBps);
      }
    const latency = each<number>();
    for (let i = 0; i < 3; i++)
      for (const party of parties)
        latency[party].push(...(await loadClient(lab, ADDRESS[party], PORT, "P", latencySamples / 3)));
    const concurrent = {} as Record<Party, { ms: number; failed: number }>;
    for (const party of parties) concurrent[party] = await loadClient(lab, ADDRESS[party], PORT, "C", 100);

    const { specs, scale } = await measureScale(lab, login);

    const sshMBps = median(throughput.ssh);
    const sshP50 = p(latency.ssh, 0.5);
    const clients = Object.fromEntries(
      FORWARD_CLIENTS.map((client): [ForwardClient, ClientFigures] => {
        const MBps = median(throughput[client]);
        const p50 = p(latency[client], 0.5);
        return [
          client,
          {
            throughput: { MBps: round1(MBps), ratio: ratio(MBps, sshMBps) },
            latency: { p50: ms2(p50), p99: ms2(p(latency[client], 0.99)), p50Ratio: ratio(p50, sshP50) },
            concurrent: { ms: round1(concurrent[client].ms), failed: concurrent[client].failed },
            scale: scale[client],
            meetsGoals: MBps / sshMBps >= 0.9 && p50 / sshP50 <= 1.2,
          },
        ];
      }),
    ) as Record<ForwardClient, ClientFigures>;
    return {
      transferMb,
      rounds,
      latencySamples,
      load: { before: loadBefore, after: loadavg().map(round1) },
      ssh: {
        MBps: round1(sshMBps),
        p50: ms2(sshP50),
        p99: ms2(p(latency.ssh, 0.99)),
        concurrentMs: round1(concurrent.ssh.ms),
        concurrentFailed: concurrent.ssh.failed,
      },
      clients,
      scale: { services: 200, ports: specs.length },
      node: options.node ?? "netns",
    };
  } finally {
    for (const child of children) child.kill(process.env.PROF ? "SIGINT" : "SIGKILL");
    if (process.env.PROF) await new Promise((r) => setTimeout(r, 2000));
    await node?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

type ScaleFigures = Record<
  ForwardClient,
  { allListeningMs: number; rssAddedMb: number; nodePorts: { allListeningMs: number; rssAddedMb: number } }
>;

/**
 * On one link, in a fresh forwarder of each kind, one at a time, listening after the link is up: 200 Services × 2
 * ports on their own addresses, then 200 NodePort Services on 127.0.0.1:<nodePort>.
 */
async function measureScale(lab: BenchHost, login: Login): Promise<{ specs: BenchSpec[]; scale: ScaleFigures }> {
  const specs = Array.from({ length: 200 }, (_, i) =>
    [80, 8080].map((port) => ({
      ...WEB,
      name: `svc-${i}`,
      address: `127.71.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      port,
    })),
  ).flat();
  const nodePorts = Array.from({ length: 200 }, (_, i) => ({
    ...WEB,
    name: `np-${i}`,
    address: "127.0.0.1",
    port: 30000 + i,
    targetPort: 30000 + i,
  }));
  const once = async (client: ForwardClient, list: readonly BenchSpec[]) => {
    const { child, ready } = await startForwarder(lab, client, login, list);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    return { allListeningMs: round1(ready.applyMs), rssAddedMb: round1((ready.rssAfter - ready.rssBefore) / 1e6) };
  };
  const scale = {} as ScaleFigures;
  for (const client of FORWARD_CLIENTS)
    scale[client] = { ...(await once(client, specs)), nodePorts: await once(client, nodePorts) };
  return { specs, scale };
}

/**
 * The scale part alone (`npm run bench -- forward-scale`): 200 Services × 2 ports listening after the link is up, with
 * each SSH client, without the throughput rounds.
 */
export async function benchForwardScale(): Promise<{
  load: { before: number[]; after: number[] };
  ports: number;
  scale: ScaleFigures;
}> {
  const loadBefore = loadavg().map(round1);
  await buildBundles();
  const dir = await mkdtemp(join(tmpdir(), "mkt-fwd-bench-"));
  let node: BenchNode | null = null;
  try {
    node = await netnsBenchNode(dir);
    const { specs, scale } = await measureScale(node.lab, node.login);
    return { load: { before: loadBefore, after: loadavg().map(round1) }, ports: specs.length, scale };
  } finally {
    await node?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const WEB: BenchSpec = {
  namespace: "bench",
  name: "web",
  address: "",
  port: PORT,
  protocol: "TCP",
  targetHost: TARGET,
  targetPort: 80,
};
