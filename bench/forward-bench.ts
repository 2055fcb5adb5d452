import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildBundles, bundled } from "../test-support/bundles.js";
import { NetnsLab } from "../test-support/netns-lab.js";
import { SshNode } from "../test-support/ssh-node.js";
import { median, round1 } from "./stats.js";

const run = promisify(execFile);

export interface ForwardBenchResult {
  readonly transferMb: number;
  readonly throughput: { readonly oursMBps: number; readonly sshMBps: number; readonly ratio: number };
  readonly latency: {
    readonly samples: number;
    readonly ours: { p50: number; p99: number };
    readonly ssh: { p50: number; p99: number };
    readonly p50Ratio: number;
  };
  readonly concurrent: {
    readonly connections: number;
    readonly oursMs: number;
    readonly sshMs: number;
    readonly oursFailed: number;
    readonly sshFailed: number;
  };
  readonly scale: {
    readonly services: number;
    readonly ports: number;
    readonly allListeningMs: number;
    readonly rssAddedMb: number;
  };
}

/** In the node namespace, on a ClusterIP: "T" streams MB megabytes, anything else gets one byte back. */
const SERVER = (mb: number) => `
const net = require("net");
const chunk = Buffer.alloc(1 << 20, 97);
net.createServer((s) => {
  s.setNoDelay(true);
  s.on("error", () => {});
  s.once("data", (d) => {
    if (d[0] !== 84) return s.end("p");
    let left = ${mb};
    const pump = () => { while (left > 0) { left--; if (!s.write(chunk)) return void s.once("drain", pump); } s.end(); };
    pump();
  });
}).listen(80, process.argv[1], () => console.log("listening"));`;

/**
 * In the host namespace: "T" one bulk read; "P n" n sequential connect→first byte samples; "C n" n connections at once.
 */
const CLIENT = `
const net = require("net");
const [addr, port, mode, n] = process.argv.slice(1);
const one = (cmd) => new Promise((resolve) => {
  const t0 = performance.now(); let bytes = 0; let first = 0;
  const s = net.connect(Number(port), addr, () => { s.setNoDelay(true); s.write(cmd); });
  s.on("data", (d) => { if (!first) first = performance.now() - t0; bytes += d.length; });
  s.on("end", () => resolve({ ms: performance.now() - t0, first, bytes }));
  s.on("error", () => resolve({ ms: performance.now() - t0, first: 0, bytes: -1 }));
});
(async () => {
  if (mode === "T") { const r = await one("T"); console.log(JSON.stringify({ MBps: r.bytes / 1e6 / (r.ms / 1000), bytes: r.bytes })); return; }
  if (mode === "P") { const xs = []; for (let i = 0; i < Number(n); i++) xs.push((await one("P")).first); console.log(JSON.stringify(xs)); return; }
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: Number(n) }, () => one("P")));
  console.log(JSON.stringify({ ms: performance.now() - t0, failed: all.filter((r) => r.bytes !== 1).length }));
})();`;

/** A forwarder's first output; if it dies first, the run fails instead of waiting for ever. */
function firstOutput(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(d.toString()));
    child.once("exit", (code, signal) => reject(new Error(`${what} exited (${signal ?? code}) before it was ready`)));
  });
}

const p = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

/**
 * Forward mode against OpenSSH's `ssh -N -L` (what minikube tunnel runs per
 * Service), through the same sshd and the same published port, in one run:
 * throughput, connect-to-first-byte latency, 100 connections at once, and
 * 200 Services × 2 ports on one link.
 */
export async function benchForward(transferMb = 200, latencySamples = 600, rounds = 9): Promise<ForwardBenchResult> {
  await buildBundles();
  const lab = await NetnsLab.create();
  const children: ChildProcess[] = [];
  let node: SshNode | null = null;
  const dir = await mkdtemp(join(tmpdir(), "mkt-fwd-bench-"));
  try {
    node = await SshNode.start(lab, join(dir, "id_rsa"));
    const hostKeys = join(dir, "host-keys");
    await writeFile(hostKeys, await node.keyscanLines());
    await lab.addServiceAddress("10.96.0.20");
    const server = spawn("ip", ["netns", "exec", lab.node, process.execPath, "-e", SERVER(transferMb), "10.96.0.20"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(server);
    await new Promise((r) => server.stdout!.once("data", r));
    const client = async (address: string, port: number, mode: string, n = 0) =>
      JSON.parse(
        (
          await run(
            "ip",
            ["netns", "exec", lab.host, process.execPath, "-e", CLIENT, address, String(port), mode, String(n)],
            { maxBuffer: 1 << 24 },
          )
        ).stdout,
      );

    // Ours: one Service on 127.70.0.1:8080; OpenSSH: the same target on 127.0.0.2:8080.
    const ours = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.host,
        process.execPath,
        ...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/fwdprof"] : []),
        bundled("forward-bench-proc"),
        String(node.publishedPort),
        join(dir, "id_rsa"),
        hostKeys,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    children.push(ours);
    ours.stdin!.end(
      JSON.stringify([
        {
          namespace: "bench",
          name: "web",
          address: "127.70.0.1",
          port: 8080,
          protocol: "TCP",
          targetHost: "10.96.0.20",
          targetPort: 80,
        },
      ]),
    );
    await firstOutput(ours, "the forwarder");
    const ssh = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.host,
        "ssh",
        "-N",
        "-i",
        join(dir, "id_rsa"),
        "-o",
        `UserKnownHostsFile=${hostKeys}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "LogLevel=ERROR",
        "-L",
        "127.0.0.2:8080:10.96.0.20:80",
        "-p",
        String(node.publishedPort),
        "docker@127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    children.push(ssh);
    while ((await lab.connectFromHost("127.0.0.2", 8080, 300)) === "ECONNREFUSED")
      await new Promise((r) => setTimeout(r, 50));

    const oursMBps: number[] = [];
    const sshMBps: number[] = [];
    for (let i = 0; i < rounds; i++) {
      oursMBps.push((await client("127.70.0.1", 8080, "T")).MBps);
      sshMBps.push((await client("127.0.0.2", 8080, "T")).MBps);
    }
    const oursLat: number[] = [];
    const sshLat: number[] = [];
    for (let i = 0; i < 3; i++) {
      oursLat.push(...(await client("127.70.0.1", 8080, "P", latencySamples / 3)));
      sshLat.push(...(await client("127.0.0.2", 8080, "P", latencySamples / 3)));
    }
    const oursC = await client("127.70.0.1", 8080, "C", 100);
    const sshC = await client("127.0.0.2", 8080, "C", 100);

    // 200 Services × 2 ports on one link, in a fresh forwarder.
    const specs = Array.from({ length: 200 }, (_, i) =>
      [80, 8080].map((port) => ({
        namespace: "bench",
        name: `svc-${i}`,
        address: `127.71.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        port,
        protocol: "TCP",
        targetHost: "10.96.0.20",
        targetPort: 80,
      })),
    ).flat();
    const scaleProc = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.host,
        process.execPath,
        bundled("forward-bench-proc"),
        String(node.publishedPort),
        join(dir, "id_rsa"),
        hostKeys,
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    children.push(scaleProc);
    scaleProc.stdin!.end(JSON.stringify(specs));
    const scale = JSON.parse(await firstOutput(scaleProc, "the 400-port forwarder"));
    if (scale.listening !== specs.length)
      throw new Error(`only ${scale.listening} of ${specs.length} listeners came up`);

    const ms2 = (x: number) => Math.round(x * 100) / 100;
    const lat = (xs: number[]) => ({ p50: ms2(p(xs, 0.5)), p99: ms2(p(xs, 0.99)) });
    const oursMedian = median(oursMBps);
    const sshMedian = median(sshMBps);
    return {
      transferMb,
      throughput: {
        oursMBps: round1(oursMedian),
        sshMBps: round1(sshMedian),
        ratio: Math.round((oursMedian / sshMedian) * 100) / 100,
      },
      latency: {
        samples: oursLat.length,
        ours: lat(oursLat),
        ssh: lat(sshLat),
        p50Ratio: Math.round((p(oursLat, 0.5) / p(sshLat, 0.5)) * 100) / 100,
      },
      concurrent: {
        connections: 100,
        oursMs: round1(oursC.ms),
        sshMs: round1(sshC.ms),
        oursFailed: oursC.failed,
        sshFailed: sshC.failed,
      },
      scale: {
        services: 200,
        ports: specs.length,
        allListeningMs: round1(scale.applyMs),
        rssAddedMb: round1((scale.rssAfter - scale.rssBefore) / 1e6),
      },
    };
  } finally {
    for (const child of children) child.kill(process.env.PROF ? "SIGINT" : "SIGKILL");
    if (process.env.PROF) await new Promise((r) => setTimeout(r, 2000));
    await node?.stop();
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
