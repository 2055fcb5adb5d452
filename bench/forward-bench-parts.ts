// The forward benchmark's pieces that run in the lab's namespaces: the Service on its ClusterIP,
// the load generator, and the forwarders (forward mode's, and OpenSSH's `ssh -N -L`).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { bundled } from "../test-support/bundles.js";

const run = promisify(execFile);

/** In the node namespace, on a ClusterIP: "T" streams MB megabytes, anything else gets one byte back. */
export const SERVER = (mb: number) => `
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

/** The network namespace that stands for the user's machine: the netns lab's host, or the Docker lab's. */
export interface BenchHost {
  readonly host: string;
}

/** Runs the load generator in the host namespace against address:port. */
export async function loadClient(lab: BenchHost, address: string, port: number, mode: "T" | "P" | "C", n = 0) {
  const { stdout } = await run(
    "ip",
    ["netns", "exec", lab.host, process.execPath, "-e", CLIENT, address, String(port), mode, String(n)],
    { maxBuffer: 1 << 24 },
  );
  return JSON.parse(stdout);
}

/** A forwarder's first output; if it dies first, the run fails instead of waiting for ever. */
export function firstOutput(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(d.toString()));
    child.once("exit", (code, signal) => reject(new Error(`${what} exited (${signal ?? code}) before it was ready`)));
  });
}

export interface BenchSpec {
  readonly namespace: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: "TCP";
  readonly targetHost: string;
  readonly targetPort: number;
}

/**
 * Forward mode's own link and listeners (bench/forward-proc.ts, bundled) in the host namespace, with the SSH client
 * `client` forced as MKTUNNEL_SSH_CLIENT forces it; resolves once every listener is up, with what it printed.
 */
export async function startForwarder(
  lab: BenchHost,
  client: string,
  login: { sshPort: number; key: string; hostKeys: string },
  specs: readonly BenchSpec[],
): Promise<{
  child: ChildProcess;
  ready: { link: string; applyMs: number; listening: number; rssBefore: number; rssAfter: number };
}> {
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      lab.host,
      process.execPath,
      ...(process.env.PROF ? ["--cpu-prof", `--cpu-prof-dir=/tmp/fwdprof-${client}`] : []),
      bundled("forward-bench-proc"),
      String(login.sshPort),
      login.key,
      login.hostKeys,
    ],
    { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, MKTUNNEL_SSH_CLIENT: client } },
  );
  child.stdin!.end(JSON.stringify(specs));
  const ready = JSON.parse(await firstOutput(child, `the ${client} forwarder`));
  if (ready.link !== "up") {
    child.kill("SIGKILL");
    throw new Error(`the ${client} forwarder's link is ${ready.link}, not up`);
  }
  if (ready.listening !== specs.length) {
    child.kill("SIGKILL");
    throw new Error(`only ${ready.listening} of ${specs.length} listeners of the ${client} forwarder came up`);
  }
  return { child, ready };
}

/** OpenSSH's `ssh -N -L`, as `minikube tunnel` runs it per Service, in the host namespace. */
export function startSshL(
  lab: BenchHost,
  listen: string,
  target: string,
  login: { sshPort: number; key: string; hostKeys: string },
): ChildProcess {
  return spawn(
    "ip",
    [
      ...["netns", "exec", lab.host, "ssh", "-N", "-i", login.key],
      ...["-o", `UserKnownHostsFile=${login.hostKeys}`, "-o", "StrictHostKeyChecking=yes", "-o", "LogLevel=ERROR"],
      ...["-L", `${listen}:${target}`, "-p", String(login.sshPort), "docker@127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
}
