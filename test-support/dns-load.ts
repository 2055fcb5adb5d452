import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { DockerLab } from "./docker-lab.js";

// Forward mode's UDP proof and figures (issue 19): dns-load-proc.mjs, run inside a network namespace.

const run = promisify(execFile);
const PROC = fileURLToPath(new URL("./dns-load-proc.mjs", import.meta.url));

/** The name every query asks for; the lab's dnsmasq answers it with DNS_ANSWER. */
export const DNS_NAME = "q.svc.test";
export const DNS_ANSWER = "10.1.2.3";

export interface UdpLoadResult {
  readonly sent: number;
  readonly received: number;
  readonly lost: number;
  /** Datagrams that were not exactly one answer: two merged, or one cut. */
  readonly malformed: number;
  readonly duplicates: number;
  /** Answers that came after the answer to a later query. */
  readonly reordered: number;
  /** Queries a second actually sent, and how far the sender fell behind its schedule at worst. */
  readonly rate: number;
  readonly maxSendLagMs: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface TcpLoadResult {
  readonly samples: number;
  readonly failed: number;
  readonly p50: number;
  readonly p99: number;
}

async function inNetns(netns: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", netns, process.execPath, PROC, ...args], {
    maxBuffer: 1 << 20,
    timeout: 180_000,
  });
  return stdout;
}

/** `rate` queries a second for `seconds` to address:port over UDP, from `sockets` source ports. */
export async function udpLoad(
  netns: string,
  address: string,
  port: number,
  options: { rate: number; seconds: number; sockets?: number; window?: number },
): Promise<UdpLoadResult> {
  const args = ["udp", address, String(port), String(options.rate), String(options.seconds)];
  const more = [String(options.sockets ?? 1), String(options.window ?? 0)];
  return JSON.parse(await inNetns(netns, [...args, ...more])) as UdpLoadResult;
}

/** `samples` queries over TCP to address:port, a connection each, one after another. */
export async function tcpLoad(netns: string, address: string, port: number, samples: number): Promise<TcpLoadResult> {
  return JSON.parse(await inNetns(netns, ["tcp", address, String(port), String(samples)])) as TcpLoadResult;
}

/** One query: the A record answered ("10.1.2.3"), "TIMEOUT", "MALFORMED" or an error code. */
export async function dnsQuery(netns: string, address: string, port: number, timeoutMs = 1000): Promise<string> {
  return (await inNetns(netns, ["one", address, String(port), String(timeoutMs)])).trim();
}

/** A DNS Service: its ClusterIP, its port (UDP and TCP) and the node port both share, as kube-sim keeps them. */
export const DNS_SERVICE = { clusterIp: "10.96.0.40", port: 5300, nodePort: 30053 } as const;

export const dnsServiceManifest = ({ clusterIp, port, nodePort } = DNS_SERVICE) => `apiVersion: v1
kind: Service
metadata: {name: dns, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: ${clusterIp}
  selector: {app: dns}
  ports:
  - {name: dns-udp, port: ${port}, nodePort: ${nodePort}, protocol: UDP}
  - {name: dns-tcp, port: ${port}, nodePort: ${nodePort}, protocol: TCP}
`;

/**
 * kube-proxy's part for the DNS Service, in the lab's node: dnsmasq answers DNS_NAME on the ClusterIP (where the SSH
 * link takes TCP) and on the node's own address at the node port (where UDP's relay sends). Both die with the node.
 */
export async function serveDnsInNode(engine: DockerLab, { clusterIp, port, nodePort } = DNS_SERVICE): Promise<void> {
  const added = await engine.inNodeNetns("ip", ["addr", "replace", `${clusterIp}/32`, "dev", "lo"]);
  if (added.exitCode !== 0) throw new Error(`cannot add ${clusterIp} in the node: ${added.stderr.trim()}`);
  const dnsmasq = (address: string, on: number) => [
    ...["dnsmasq", "--keep-in-foreground", "--user=root", "--pid-file=", "-C", "/dev/null"],
    ...["--no-resolv", "--no-hosts", "--bind-interfaces", `--listen-address=${address}`, `--port=${on}`],
    `--address=/${DNS_NAME}/${DNS_ANSWER}`,
  ];
  await engine.startInNode(dnsmasq(clusterIp, port), { protocol: "udp", address: clusterIp, port });
  await engine.startInNode(dnsmasq(engine.nodeIp, nodePort), {
    protocol: "udp",
    address: engine.nodeIp,
    port: nodePort,
  });
}
