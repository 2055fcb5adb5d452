import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { bundled } from "./bundles.js";
import { StartedTunnel } from "./cli-process.js";
import { FakeMinikube } from "./fake-minikube.js";
import { NetnsLab } from "./netns-lab.js";
import { SshNode } from "./ssh-node.js";

// Forward mode's lab, for mktunnel-forward*.integration.test.ts.

const run = promisify(execFile);

export type Forward = {
  namespace: string;
  name: string;
  address: string;
  port: number;
  protocol: string;
  state: string;
};
export type State = {
  event: string;
  mode: string;
  phase: string;
  routes: unknown[];
  link?: { state: string; error?: string };
  forwards?: Forward[];
};

export const service = (name: string, clusterIP: string, ports: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  type: LoadBalancer\n  clusterIP: ${clusterIP}\n  selector: {app: ${name}}\n  ports:\n${ports}`;

export interface ForwardLab {
  readonly lab: NetnsLab;
  readonly fake: FakeMinikube;
  readonly node: SshNode;
  readonly sim: ChildProcess;
  readonly kubeconfig: string;
  readonly kubectl: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
  /** A Service's external IPs (the API's `status.loadBalancer.ingress`), as the controller wrote them. */
  readonly externalIpsOf: (name: string) => Promise<any>;
}

/** The cluster's API: kube-sim in `netns`, and the real kubectl pointed at it through its kubeconfig. */
export interface KubeSim {
  readonly sim: ChildProcess;
  readonly kubeconfig: string;
  readonly kubectl: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
  /** A Service's external IPs (the API's `status.loadBalancer.ingress`), as the controller wrote them. */
  readonly externalIpsOf: (name: string) => Promise<any>;
}

export async function startKubeSim(netns: string, options: { gatewayApi?: boolean } = {}): Promise<KubeSim> {
  const crds = options.gatewayApi ? ["gateway-api"] : [];
  const sim = spawn("ip", ["netns", "exec", netns, process.execPath, bundled("kube-sim-serve"), "minikube", ...crds], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const kubeconfig = await new Promise<string>((resolve) =>
    createInterface({ input: sim.stdout! }).once("line", resolve),
  );
  const kubectl = (...args: string[]) =>
    run("ip", ["netns", "exec", netns, "kubectl", "--kubeconfig", kubeconfig, ...args]);
  const externalIpsOf = async (name: string) =>
    JSON.parse((await kubectl("get", "svc", name, "-o", "json")).stdout).status.loadBalancer.ingress ?? [];
  return { sim, kubeconfig, kubectl, externalIpsOf };
}

/** The lab's three LoadBalancer Services and what answers for each on the node: address, port, reply. */
export const LAB_SERVICES = [
  ["10.96.0.20", 80, "web"],
  ["10.96.0.21", 80, "api"],
  ["10.96.0.22", 8080, "admin"],
] as const;

/** web, api and admin, created through kubectl (`dir` holds the manifest). */
export async function createLabServices(kubectl: KubeSim["kubectl"], dir: string): Promise<void> {
  const manifests = join(dir, "services.yaml");
  await writeFile(
    manifests,
    [
      service("web", "10.96.0.20", "  - {name: http, port: 80}\n"),
      service("api", "10.96.0.21", "  - {name: http, port: 80}\n"),
      service("admin", "10.96.0.22", "  - {name: http, port: 8080}\n  - {name: dns, port: 53, protocol: UDP}\n"),
    ].join("---\n"),
  );
  await kubectl("create", "-f", manifests);
}

/**
 * A node the host cannot route to, as the docker driver makes one on macOS,
 * Windows and WSL2: sshd in the node namespace, its port 22 published on
 * 127.0.0.1 of the host namespace by socat (as Docker publishes it), no
 * route to the service CIDR, a fake docker that says where the port is and a
 * fake minikube that prints the node's host key. The cluster (kube-sim) has
 * three LoadBalancer Services, web, api and admin, each answering on the node
 * as itself; with `gatewayApi`, it serves Gateway API's CRDs too. The same on
 * a real Docker engine: docker-forward-lab.ts.
 */
export async function createForwardLab(options: { gatewayApi?: boolean } = {}): Promise<ForwardLab> {
  const lab = await NetnsLab.create();
  const fake = await FakeMinikube.create();
  await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
  const node = await SshNode.start(lab, join(fake.miniPath, "machines", "minikube", "id_rsa"));
  await fake.setContainer("minikube", { running: true, sshPort: node.publishedPort });
  await fake.setHostKeyFiles("minikube", await node.hostPublicKeys());
  const { sim, kubeconfig, kubectl, externalIpsOf } = await startKubeSim(lab.host, options);
  await createLabServices(kubectl, fake.root);
  // kube-proxy's part: each ClusterIP answers on the node, saying which Service it is.
  for (const [ip, port, name] of LAB_SERVICES) {
    await lab.addServiceAddress(ip);
    await lab.startTcpServer(ip, port, name);
  }
  await lab.addServiceAddress("10.96.0.1");
  await lab.startTcpServer("10.96.0.1", 443);
  return { lab, fake, node, sim, kubeconfig, kubectl, externalIpsOf };
}

export async function destroyForwardLab({ lab, fake, node, sim }: ForwardLab): Promise<void> {
  sim.kill("SIGTERM");
  await node.stop();
  await lab.destroy();
  await fake.destroy();
}

/** `mktunnel start --mode forward` in the lab's host namespace over `client` (MKTUNNEL_SSH_CLIENT); `args` follow. */
export const startForwardTunnel = ({ lab, fake, kubeconfig }: ForwardLab, client: string, ...args: string[]) =>
  StartedTunnel.start(
    lab.host,
    ["--mode", "forward", ...args],
    fake.env({ KUBECONFIG: kubeconfig, MKTUNNEL_SSH_CLIENT: client }),
  );

export const state = (t: StartedTunnel, test: (s: State) => boolean, what: string, timeoutMs = 15_000) =>
  t.waitFor((e) => e.event === "state" && test(e as unknown as State), timeoutMs, what) as unknown as Promise<State>;

/** A state at or after event index `from` (taken before the action), so a quick answer is never missed. */
export const stateSince = (
  t: StartedTunnel,
  from: number,
  test: (s: State) => boolean,
  what: string,
  timeoutMs = 15_000,
) =>
  t.waitFor(
    (e) => e.event === "state" && t.events.indexOf(e) >= from && test(e as unknown as State),
    timeoutMs,
    what,
  ) as unknown as Promise<State>;

export const listening = (s: State) => (s.forwards ?? []).filter((f) => f.state === "listening");

export function up(s: State, name: string): string {
  return s.forwards!.find((f) => f.name === name)!.address;
}
