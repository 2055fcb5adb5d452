import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StartedTunnel } from "../../test-support/cli-process.js";
import {
  type DockerForwardCase,
  type DockerForwardLab,
  useDockerForwardLab,
} from "../../test-support/docker-forward-lab.js";
import { dockerLabUnavailableReason } from "../../test-support/docker-lab.js";
import { type State, state } from "../../test-support/forward-lab.js";

const skip = dockerLabUnavailableReason();
if (skip) console.log(`skipped: forward mode's node ports on a real Docker engine: ${skip}`);

/** A NodePort Service with its node ports given (the API server would pick them; kube-sim keeps what it is given). */
const nodePortService = (name: string, clusterIP: string, ports: readonly [number, number][]) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  type: NodePort\n  clusterIP: ${clusterIP}\n  selector: {app: ${name}}\n  ports:\n${ports.map(([port, nodePort]) => `  - {port: ${port}, nodePort: ${nodePort}}\n`).join("")}`;

type NodePort = { port: number; state: string; address: string; name: string };
const nodePorts = (s: State) => ((s as State & { nodePorts?: NodePort[] }).nodePorts ?? []) as NodePort[];
/** The NodePort Service's own (kube-sim gives the LoadBalancers node ports too, from 30000). */
const shopPorts = (s: State) => nodePorts(s).filter((n) => n.name === "shop");

/**
 * Forward mode's node ports (docs/architecture.md, "Forward mode") against minikube's node in a real Docker engine
 * (test-support/docker-forward-lab.ts), with each SSH client: each listens on 127.0.0.1:<nodePort> and reaches the
 * node's own address at that port through the link, as Docker Desktop publishes them; a port another program holds
 * here is that port's state; --no-node-ports turns them off.
 */
describe.skipIf(skip !== null)("mktunnel --mode forward's node ports on a real Docker engine", () => {
  let lab!: DockerForwardLab;
  let c: DockerForwardCase;
  useDockerForwardLab((started) => (lab = started));

  beforeEach(async () => {
    c = await lab.begin();
    const manifest = join(c.fake.root, "node-ports.yaml");
    await writeFile(
      manifest,
      nodePortService("shop", "10.96.0.30", [
        [80, 30080],
        [81, 30081],
      ]),
    );
    await c.kubectl("create", "-f", manifest);
    // kube-proxy's part: the node's own address answers on each node port.
    await lab.serveOnNode(lab.nodeIp, 30080, "shop");
    await lab.serveOnNode(lab.nodeIp, 30081, "shop-81");
  });

  afterEach(async () => {
    await lab.end();
  });

  // Everything below would pass by dialing the node directly if the host could: here it cannot, as on macOS and
  // Windows, where the node's network lives in Docker's VM.
  it("the lab: the host namespace cannot reach 192.168.49.2, neither port 22 nor a node port that answers there, while Docker's published port works", async () => {
    expect(await lab.connect(lab.nodeIp, 22)).toBe("EHOSTUNREACH");
    expect(await lab.connect(lab.nodeIp, 30080)).toBe("EHOSTUNREACH");
    expect(await lab.connect("127.0.0.1", lab.engine.sshPort)).toMatch(/^SSH-2\.0-/);
    // Inside the node, the node port answers: it is the path that is closed, not the server that is missing.
    const fromNode = await lab.engine.exec(["socat", "-T", "5", "-", `TCP:${lab.nodeIp}:30080`]);
    expect(fromNode.stdout).toBe("shop");
  });

  describe.each(["openssh", "openssh-socks", "ssh2"] as const)("over %s", (client) => {
    let tunnel: StartedTunnel | null = null;

    afterEach(async () => {
      tunnel?.child.kill("SIGKILL");
      await tunnel?.exited;
      tunnel = null;
    });

    const start = (...args: string[]) => (tunnel = c.start(client, ...args));

    it("a NodePort Service answers on 127.0.0.1:<nodePort>; one taken here is that port's state, never fatal; stop closes them", async () => {
      const webNodePort: number = JSON.parse((await c.kubectl("get", "svc", "web", "-o", "json")).stdout).spec.ports[0]
        .nodePort;
      // Another program holds 127.0.0.1:30081 on this machine.
      await lab.serveOnHost("127.0.0.1", 30081, "someone else");
      const t = start();
      await t.ready();
      const up = await state(
        t,
        (s) => s.link?.state === "up" && shopPorts(s).length === 2 && shopPorts(s).every((n) => n.state !== "error"),
        "both node ports placed",
      );
      expect(shopPorts(up).map((n) => `${n.address}:${n.port} ${n.name} ${n.state}`)).toEqual([
        "127.0.0.1:30080 shop listening",
        "127.0.0.1:30081 shop port-in-use",
      ]);
      expect(await lab.connect("127.0.0.1", 30080)).toBe("shop");
      expect(await lab.connect("127.0.0.1", 30081)).toBe("someone else");
      // A LoadBalancer's node port too, beside its own address.
      const web = nodePorts(up).find((n) => n.name === "web")!;
      expect(web).toMatchObject({ port: webNodePort, state: "listening" });
      await lab.serveOnNode(lab.nodeIp, webNodePort, "web's node port");
      expect(await lab.connect("127.0.0.1", webNodePort)).toBe("web's node port");
      expect(up.phase).toBe("active");
      expect(await t.stop()).toBe(0);
      expect(await lab.connect("127.0.0.1", 30080)).toBe("ECONNREFUSED");
    });

    it("--no-node-ports: nothing listens on 127.0.0.1:<nodePort>, and the state carries no node ports", async () => {
      const t = start("--no-node-ports");
      await t.ready();
      const up = await state(
        t,
        (s) => s.link?.state === "up" && (s.forwards ?? []).filter((f) => f.state === "listening").length === 3,
        "the LoadBalancers listening",
      );
      expect((up as State & { nodePorts?: unknown }).nodePorts).toBeUndefined();
      expect(await lab.connect("127.0.0.1", 30080)).toBe("ECONNREFUSED");
    });
  });
});
