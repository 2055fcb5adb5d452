import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { createInterface } from "node:readline";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../src/engine/kube/kube-http.js";
import { percentile, round1 } from "./stats.js";

const here = import.meta.dirname;
const buildDir = join(here, ".build");
const built = new Map<string, Promise<string>>();

/**
 * The simulator, the controller and the bare client run as plain JavaScript,
 * bundled once by esbuild (dependencies stay in node_modules), as the shipped
 * app does: not through tsx, whose on-the-fly compilation would be measured too.
 */
function compiled(script: string): Promise<string> {
  let out = built.get(script);
  if (!out) {
    const file = join(buildDir, `${basename(script, ".ts")}.mjs`);
    out = build({
      entryPoints: [script],
      outfile: file,
      bundle: true,
      packages: "external",
      platform: "node",
      format: "esm",
      target: "node22",
      logLevel: "warning",
    }).then(() => file);
    built.set(script, out);
  }
  return out;
}

async function runBuilt(script: string, args: string[]): Promise<ChildProcess> {
  const profile =
    process.env.SIM_PROF && script.endsWith(process.env.SIM_PROF) ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] : [];
  return spawn(process.execPath, [...profile, await compiled(script), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}
const firstLine = (child: ChildProcess) =>
  new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function procStat(pid: number): Promise<{ rssMb: number; cpuTicks: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssMb: rssKb / 1024, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

/**
 * NodePorts are not allocated: a real cluster has only 2,768 of them, fewer than the 10,000 Services of the bulk
 * benchmark.
 */
function service(name: string) {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      type: "LoadBalancer",
      allocateLoadBalancerNodePorts: false,
      selector: { app: name },
      ports: [{ port: 80 }],
    },
  };
}

/** Watches every Service and records when each first shows an external IP. */
class Observer {
  readonly seen = new Map<string, number>();
  private readonly abort = new AbortController();
  private waiters = new Map<string, () => void>();
  constructor(private readonly client: KubeHttp) {}
  async start(): Promise<void> {
    const { body } = await this.client.call<{ metadata: { resourceVersion: string } }>("GET", "/api/v1/services");
    void this.client
      .watch(
        `/api/v1/services?watch=1&resourceVersion=${body.metadata.resourceVersion}`,
        (event) => {
          const svc = event.object as any;
          if (!svc.status?.loadBalancer?.ingress?.length || this.seen.has(svc.metadata.name)) return;
          this.seen.set(svc.metadata.name, performance.now());
          this.waiters.get(svc.metadata.name)?.();
        },
        this.abort.signal,
      )
      .catch(() => undefined);
  }
  waitFor(name: string): Promise<void> {
    if (this.seen.has(name)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(name, resolve));
  }
  stop(): void {
    this.abort.abort();
  }
}

async function createMany(client: KubeHttp, names: string[], concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        await client.call("POST", "/api/v1/namespaces/default/services", service(name));
      }
    }),
  );
}

async function withSim<T>(work: (kubeconfig: string, client: KubeHttp) => Promise<T>): Promise<T> {
  const sim = await runBuilt(join(here, "../test-support/kube-sim/serve.ts"), ["minikube"]);
  try {
    const kubeconfig = await firstLine(sim);
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    return await work(kubeconfig, await KubeHttp.fromKubeConfig(config, { maxSockets: 64 }));
  } finally {
    sim.kill("SIGTERM");
  }
}

async function latency(
  kubeconfig: string,
  client: KubeHttp,
  script: string,
  prefix: string,
  samples: number,
): Promise<number[]> {
  const proc = await runBuilt(script, [kubeconfig, process.env.BENCH_NO_EVENTS ? "no-events" : "events"]);
  await firstLine(proc);
  const observer = new Observer(client);
  await observer.start();
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = `${prefix}-${i}`;
    const t0 = performance.now();
    await client.call("POST", "/api/v1/namespaces/default/services", service(name));
    await observer.waitFor(name);
    latencies.push((observer.seen.get(name) ?? NaN) - t0);
  }
  observer.stop();
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  return latencies;
}

/**
 * Latency: create → a separate watcher sees the external IP, with 1,000 Services present, against a bare watch→PATCH
 * client.
 * The two alternate in rounds so that drift on a shared machine (GC, other load) falls on both alike.
 */
export async function benchP1(samples = 600, rounds = 3) {
  return withSim(async (kubeconfig, client) => {
    await createMany(
      client,
      Array.from({ length: 1000 }, (_, i) => `pre-${i}`),
    );
    const ctl: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < rounds; round++) {
      ctl.push(
        ...(await latency(
          kubeconfig,
          client,
          join(here, "lb-controller-proc.ts"),
          `ctl${round}`,
          Math.ceil(samples / rounds),
        )),
      );
      bare.push(
        ...(await latency(
          kubeconfig,
          client,
          join(here, "bare-client-proc.ts"),
          `bare${round}`,
          Math.ceil(samples / rounds),
        )),
      );
    }
    const summary = (xs: number[]) => ({ p50: round1(percentile(xs, 50)), p99: round1(percentile(xs, 99)) });
    const controller = summary(ctl);
    const baseline = summary(bare);
    return {
      servicesPresent: 1000,
      samples: ctl.length,
      controller,
      bare: baseline,
      p99Ratio: Math.round((controller.p99 / baseline.p99) * 100) / 100,
      p50Ratio: Math.round((controller.p50 / baseline.p50) * 100) / 100,
    };
  });
}

/**
 * Bulk, second reading: 10,000 Services already there when the controller starts; time from its start to all assigned.
 */
export async function benchBacklog(count = 10_000) {
  return withSim(async (kubeconfig, client) => {
    await createMany(
      client,
      Array.from({ length: count }, (_, i) => `backlog-${i}`),
    );
    const observer = new Observer(client);
    await observer.start();
    await client.call("POST", "/kubesim/counts");
    const controllerScript = await compiled(join(here, "lb-controller-proc.ts"));
    const t0 = performance.now();
    const proc = spawn(
      process.execPath,
      [controllerScript, kubeconfig, process.env.BENCH_NO_EVENTS ? "no-events" : "events"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    for (let i = 0; i < count; i++) await observer.waitFor(`backlog-${i}`);
    const allAssigned = Math.max(...observer.seen.values()) - t0;
    const { body: counts } = await client.call<any>("GET", "/kubesim/counts");
    observer.stop();
    proc.kill("SIGTERM");
    return {
      services: count,
      startToAllAssignedMs: Math.round(allAssigned),
      statusWritesPerService: Math.round(((counts.byVerb.patch ?? 0) / count) * 1000) / 1000,
    };
  });
}

/**
 * Bulk and memory: 10,000 Services at once; time to all assigned, writes per Service, idle requests, RSS and idle CPU.
 */
export async function benchBulk(
  count = 10_000,
  idleSeconds = 20,
  who: "controller" | "controller-no-events" | "bare" = "controller",
) {
  return withSim(async (kubeconfig, client) => {
    const proc =
      who === "bare"
        ? await runBuilt(join(here, "bare-client-proc.ts"), [kubeconfig])
        : await runBuilt(join(here, "lb-controller-proc.ts"), [
            kubeconfig,
            who === "controller" ? "events" : "no-events",
          ]);
    await firstLine(proc);
    await sleep(1000);
    const baseline = await procStat(proc.pid!);
    const observer = new Observer(client);
    await observer.start();
    await client.call("POST", "/kubesim/counts");
    const t0 = performance.now();
    const names = Array.from({ length: count }, (_, i) => `bulk-${i}`);
    await createMany(client, names);
    const created = performance.now() - t0;
    for (const name of names) await observer.waitFor(name);
    const allAssigned = Math.max(...observer.seen.values()) - t0;
    const { body: counts } = await client.call<any>("GET", "/kubesim/counts");
    const statusWrites = counts.byVerb.patch ?? 0;
    const eventWrites = (counts.byVerb.post ?? 0) - count;
    await sleep(3000);
    const loaded = await procStat(proc.pid!);
    await client.call("POST", "/kubesim/counts");
    await sleep(idleSeconds * 1000);
    const idle = await procStat(proc.pid!);
    const { body: idleCounts } = await client.call<any>("GET", "/kubesim/counts");
    observer.stop();
    proc.kill("SIGTERM");
    const ticksPerSecond = 100;
    return {
      who,
      services: count,
      createMs: Math.round(created),
      allAssignedMs: Math.round(allAssigned),
      statusWritesPerService: Math.round((statusWrites / count) * 1000) / 1000,
      eventWritesPerService: Math.round((eventWrites / count) * 1000) / 1000,
      idleWindowSeconds: idleSeconds,
      // The observer's own watch is the one request the sim counts for it; everything else is the controller's.
      idleRequestsPerMinute: Math.round(((idleCounts.total as number) / idleSeconds) * 60 * 10) / 10,
      rssBaselineMb: round1(baseline.rssMb),
      rssWith10kMb: round1(loaded.rssMb),
      rssOverBaselineMb: round1(loaded.rssMb - baseline.rssMb),
      idleCpuPercent: round1(((idle.cpuTicks - loaded.cpuTicks) / ticksPerSecond / idleSeconds) * 100),
    };
  });
}
