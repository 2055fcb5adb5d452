import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { build } from "esbuild";
import { buildBundles, bundled } from "../test-support/bundles.js";
import { StartedTunnel, runCli } from "../test-support/cli-process.js";
import { FakeMinikube } from "../test-support/fake-minikube.js";
import { IngressStandIn, standInReply } from "../test-support/ingress-standin.js";
import { createWithKubectl } from "../test-support/kube-sim/kubectl-objects.js";
import {
  gateway,
  gatewayService,
  ingress,
  minikubeIngressAddon,
  route,
} from "../test-support/kube-sim/network-fixtures.js";
import type { KubeObject } from "../test-support/kube-sim/object-store.js";
import { NetnsLab } from "../test-support/netns-lab.js";
import { inPrivateEtc, privateEtc } from "../test-support/private-etc.js";
import { percentile, round1 } from "./stats.js";

const run = promisify(execFile);
const here = import.meta.dirname;
const POOL = "172.30.0.0/24";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

interface Sample {
  createdMs: number;
  resolvedMs: number;
  answeredMs: number;
}

interface Counts {
  total: number;
  watches: number;
  byVerb: Record<string, number>;
}

export interface IngressBenchResult {
  latency: {
    samples: number;
    load: { before: number[]; after: number[] };
    /** Create request sent → the API answered. */
    created: { p50: number; p99: number };
    /** Create request sent → getaddrinfo (glibc, the private /etc/hosts) gives the node's address. */
    resolved: { p50: number; p99: number; max: number };
    /** Create request sent → `GET http://<host>/` answered by the stand-in controller through that address. */
    answered: { p50: number; p99: number; max: number };
    meetsGoal: boolean;
  };
  scale: {
    ingresses: number;
    gateways: number;
    names: number;
    load: { before: number[]; after: number[] };
    createMs: number;
    allResolvableMs: number;
    linesInHostsBlock: number;
    rssBaselineMb: number;
    rssWithNamesMb: number;
    rssAddedMb: number;
    watchesOpened: number;
    idleWindowSeconds: number;
    idleRequests: Counts;
    idleCpuPercentOfOneCore: number;
    spotCheck: string[];
  };
}

/** The probe, bundled once (dependencies stay in node_modules): plain JavaScript, as the app ships, not tsx. */
let probeScript: Promise<string> | null = null;
function probeBundle(): Promise<string> {
  const outfile = join(here, ".build", "ingress-probe-proc.mjs");
  probeScript ??= build({
    entryPoints: [join(here, "ingress-probe-proc.ts")],
    outfile,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node22",
    logLevel: "warning",
  }).then(() => outfile);
  return probeScript;
}

/** bench/ingress-probe-proc.ts in the lab's host namespace with the private /etc: one request, one answer. */
class Probe {
  private readonly lines: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (error: Error) => void } | null = null;
  private exitCode: number | null | undefined;
  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const w = this.waiting;
      this.waiting = null;
      if (w) w.resolve(line);
      else this.lines.push(line);
    });
    child.once("exit", (code) => {
      this.exitCode = code;
      this.waiting?.reject(new Error(`the probe exited with ${code}`));
    });
  }

  static async start(netns: string, kubeconfig: string): Promise<Probe> {
    const [file, argv] = inPrivateEtc("ip", [
      "netns",
      "exec",
      netns,
      process.execPath,
      await probeBundle(),
      kubeconfig,
    ]);
    const probe = new Probe(spawn(file, argv, { stdio: ["pipe", "pipe", "inherit"] }));
    await probe.next();
    return probe;
  }

  private next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exitCode !== undefined) return Promise.reject(new Error(`the probe exited with ${this.exitCode}`));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  async ask<T>(request: Record<string, unknown>): Promise<T> {
    this.child.stdin!.write(`${JSON.stringify(request)}\n`);
    const answer = JSON.parse(await this.next()) as { ok?: T; error?: string };
    if (answer.error !== undefined) throw new Error(`probe ${String(request.op)}: ${answer.error}`);
    return answer.ok as T;
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}

async function procStat(pid: number): Promise<{ rssMb: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

interface Bench {
  lab: NetnsLab;
  tunnel: StartedTunnel;
  probe: Probe;
  kubeconfig: string;
}

/**
 * What the route-mode lab tests set up (test-support/ingress-route.integration.test.ts): kube-sim serving Gateway
 * API in the lab's host namespace with minikube's ingress addon in it, the stand-in controller on the node's hostPorts,
 * and the bundled `mktunnel start --mode route` (LoadBalancer pool mode, so Gateways' Services get addresses) writing
 * the names into the private /etc/hosts. One warm-up Ingress answers before `work` runs.
 */
async function inLab<T>(work: (bench: Bench) => Promise<T>): Promise<T> {
  const lab = await NetnsLab.create();
  const fake = await FakeMinikube.create();
  const dir = await mkdtemp(join(tmpdir(), "mkt-ingress-bench-"));
  let sim: ChildProcess | null = null;
  let standIn: IngressStandIn | null = null;
  let tunnel: StartedTunnel | null = null;
  let probe: Probe | null = null;
  let env: NodeJS.ProcessEnv = {};
  const hostsBefore = await readFile(join(privateEtc(), "hosts"), "utf8");
  try {
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    sim = spawn(
      "ip",
      ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube", "gateway-api"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const kubeconfig = await new Promise<string>((resolve) =>
      createInterface({ input: sim!.stdout! }).once("line", resolve),
    );
    env = fake.env({ KUBECONFIG: kubeconfig });
    const kubectl = (...args: string[]) =>
      run("ip", ["netns", "exec", lab.host, "kubectl", "--kubeconfig", kubeconfig, ...args]);
    await createWithKubectl(kubectl, dir, minikubeIngressAddon(lab.nodeIp));
    standIn = await IngressStandIn.start(lab.node, lab.nodeIp, ["bench.test"]);
    tunnel = StartedTunnel.start(lab.host, ["--mode", "route", "--lb-mode", "pool", "--lb-pool", POOL], env);
    await tunnel.ready();
    probe = await Probe.start(lab.host, kubeconfig);
    await probe.ask<Sample>({
      op: "sample",
      objects: [ingress("warm-up", ["warm-up.bench.test"])],
      host: "warm-up.bench.test",
      address: lab.nodeIp,
      reply: standInReply("warm-up.bench.test"),
    });
    const result = await work({ lab, tunnel, probe, kubeconfig });
    if ((await tunnel.stop()) !== 0) throw new Error(`the tunnel stopped with an error: ${tunnel.stderr}`);
    if ((await readFile(join(privateEtc(), "hosts"), "utf8")) !== hostsBefore)
      throw new Error("the hosts file is not as it was after the tunnel stopped");
    return result;
  } finally {
    probe?.stop();
    if (tunnel && tunnel.child.exitCode === null && tunnel.child.signalCode === null) {
      tunnel.child.kill("SIGKILL");
      await tunnel.exited;
      await runCli(lab.host, ["cleanup", "--json"], env);
    }
    await standIn?.stop();
    sim?.kill("SIGTERM");
    await lab.destroy();
    await fake.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

const summary = (xs: readonly number[]) => ({
  p50: round1(percentile(xs, 50)),
  p99: round1(percentile(xs, 99)),
  max: round1(Math.max(...xs)),
});

/** Ingresses created one after another, each waited for: create → resolves → answers. */
async function latency(samples: number): Promise<IngressBenchResult["latency"]> {
  const before = load();
  const got = await inLab(async ({ lab, probe }) => {
    const all: Sample[] = [];
    for (let i = 0; i < samples; i++) {
      const host = `s${i}.bench.test`;
      all.push(
        await probe.ask<Sample>({
          op: "sample",
          objects: [ingress(`s${i}`, [host])],
          host,
          address: lab.nodeIp,
          reply: standInReply(host),
        }),
      );
    }
    return all;
  });
  const answered = summary(got.map((s) => s.answeredMs));
  const created = summary(got.map((s) => s.createdMs));
  return {
    samples,
    load: { before, after: load() },
    created: { p50: created.p50, p99: created.p99 },
    resolved: summary(got.map((s) => s.resolvedMs)),
    answered,
    meetsGoal: answered.p99 <= 1000,
  };
}

/** Many Ingresses and Gateways at once: all resolvable, memory added, and what the tunnel asks the API when idle. */
async function scale(ingresses: number, gateways: number, idleSeconds: number): Promise<IngressBenchResult["scale"]> {
  const before = load();
  const hosts: Record<string, string | null> = {};
  const objects: KubeObject[] = [];
  for (let j = 0; j < gateways; j++) {
    const names = [`api${j}.gw.test`, `www${j}.gw.test`];
    objects.push(
      gatewayService(`gw${j}`),
      gateway(`gw${j}`, [{ name: "http", port: 80, protocol: "HTTP" }]),
      route("HTTPRoute", `r${j}`, [{ name: `gw${j}`, accepted: true }], { hostnames: names }),
    );
    // The pool address our LoadBalancer controller gives the Gateway's Service: any of the pool's.
    for (const name of names) hosts[name] = null;
  }
  return inLab(async ({ lab, tunnel, probe }) => {
    for (let i = 0; i < ingresses; i++) {
      const names = [`a${i}.scale.test`, `b${i}.scale.test`];
      objects.push(ingress(`scale-${i}`, names));
      for (const name of names) hosts[name] = lab.nodeIp;
    }
    await sleep(3000);
    const pid = tunnel.child.pid!;
    const baseline = await procStat(pid);
    const opened = await probe.ask<Counts>({ op: "counts", reset: false });
    const bulk = await probe.ask<{ createdMs: number; allResolvedMs: number }>({ op: "bulk", objects, hosts });
    const hostsFile = await readFile(join(privateEtc(), "hosts"), "utf8");
    const block = hostsFile.slice(hostsFile.indexOf("# BEGIN minikube-tunnel"));
    const [file, argv] = inPrivateEtc("ip", [
      "netns",
      "exec",
      lab.host,
      "getent",
      "hosts",
      "a0.scale.test",
      `b${ingresses - 1}.scale.test`,
      "api0.gw.test",
      `www${gateways - 1}.gw.test`,
    ]);
    const spotCheck = (await run(file, argv)).stdout.trim().split("\n");
    await sleep(5000);
    const loaded = await procStat(pid);
    await probe.ask({ op: "counts", reset: true });
    await sleep(idleSeconds * 1000);
    const idle = await probe.ask<Counts>({ op: "counts", reset: false });
    const after = await procStat(pid);
    return {
      ingresses,
      gateways,
      names: Object.keys(hosts).length,
      load: { before, after: load() },
      createMs: Math.round(bulk.createdMs),
      allResolvableMs: Math.round(bulk.allResolvedMs),
      linesInHostsBlock: block.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length,
      rssBaselineMb: round1(baseline.rssMb),
      rssWithNamesMb: round1(loaded.rssMb),
      rssAddedMb: round1(loaded.rssMb - baseline.rssMb),
      // Since the simulator started: the tunnel's, as the probe opens none (its warm-up made two writes).
      watchesOpened: opened.byVerb.watch ?? 0,
      idleWindowSeconds: idleSeconds,
      // The simulator does not count /kubesim/counts: every request here is the tunnel's.
      idleRequests: { total: idle.total, watches: idle.watches, byVerb: idle.byVerb },
      idleCpuPercentOfOneCore: round1(((after.cpuTicks - loaded.cpuTicks) / 100 / idleSeconds) * 100),
      spotCheck,
    };
  });
}

/**
 * The Ingress benchmark (`npm run bench -- ingress`, as root): route mode against kube-sim with minikube's ingress
 * addon, in the lab (docs/architecture.md, "Ingress and Gateway names").
 */
export async function benchIngress({
  samples = 200,
  ingresses = 200,
  gateways = 50,
  idleSeconds = 60,
} = {}): Promise<IngressBenchResult> {
  await buildBundles();
  return { latency: await latency(samples), scale: await scale(ingresses, gateways, idleSeconds) };
}
