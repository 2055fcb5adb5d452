import { createServer, type Server } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { simulator } from "../../test-support/kube-sim/ingress-discovery-setup.js";
import type { KubeSim } from "../../test-support/kube-sim/kube-sim.js";
import { createEngine } from "../engine/engine.js";
import { KubeHttp } from "../engine/kube/kube-http.js";
import { listLoadBalancerServices } from "../engine/lb/lb-listing.js";
import type { HeldLock } from "../engine/system/file-lock.js";
import { listNodePortServices } from "./node-port-status.js";
import { buildStatusReport, nodePortReports } from "./status-report.js";
import { type Socket, createSocket } from "node:dgram";

const servers: Server[] = [];
const fakes: FakeMinikube[] = [];
const locks: HeldLock[] = [];
afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  for (const fake of fakes.splice(0)) await fake.destroy();
});

/** Something listening on 127.0.0.1 at a port of the node-port range, as a forward-mode tunnel's node port would. */
async function listenInNodePortRange(): Promise<number> {
  for (;;) {
    const port = 30000 + Math.floor(Math.random() * 2768);
    const server = createServer((socket) => socket.end());
    const listening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (listening) {
      servers.push(server);
      return port;
    }
  }
}

/** A port of the range nothing listens on: one held a moment and let go. */
async function freeInNodePortRange(): Promise<number> {
  const port = await listenInNodePortRange();
  const server = servers.pop()!;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const service = (name: string, type: string, ports: readonly [number, number | null][]) => ({
  metadata: { name, namespace: "default" },
  spec: {
    type,
    selector: { app: name },
    ports: ports.map(([port, nodePort]) => ({ port, ...(nodePort ? { nodePort } : {}) })),
  },
});

async function apiOf(sim: KubeSim): Promise<KubeHttp> {
  const config = new KubeConfig();
  config.loadFromFile(sim.kubeconfig);
  config.setCurrentContext(sim.profile);
  return KubeHttp.fromKubeConfig(config, { timeoutMs: 3000 });
}

describe("status from another shell: forward mode's node ports", () => {
  it("lists the type NodePort Services with their node ports, and nothing else", async () => {
    const sim = await simulator();
    sim.store.create("services", "default", service("shop", "NodePort", [[80, 30080]]));
    sim.store.create("services", "default", service("web", "LoadBalancer", [[80, 30090]]));
    sim.store.create("services", "default", service("db", "ClusterIP", [[5432, null]]));
    const api = await apiOf(sim);
    try {
      expect(await listNodePortServices(api)).toEqual([
        { namespace: "default", name: "shop", ports: [{ port: 80, protocol: "TCP", nodePort: 30080 }] },
      ]);
    } finally {
      api.close();
    }
  });

  it("while a tunnel runs, carries the NodePort Services' node ports beside the LoadBalancers', each knocked on", async () => {
    const sim = await simulator();
    const fake = await FakeMinikube.create();
    fakes.push(fake);
    await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2" });
    const engine = await createEngine({ env: fake.env(), podCidrSource: null, names: false });
    const [shop80, web80] = [await listenInNodePortRange(), await listenInNodePortRange()];
    const shop81 = await freeInNodePortRange();
    sim.store.create(
      "services",
      "default",
      service("shop", "NodePort", [
        [80, shop80],
        [81, shop81],
      ]),
    );
    sim.store.create("services", "default", service("web", "LoadBalancer", [[80, web80]]));
    const api = await apiOf(sim);
    const status = () =>
      buildStatusReport(engine, ["minikube"], {
        probe: false,
        modeOf: async () => "forward",
        services: () => listLoadBalancerServices(api),
        nodePortServices: () => listNodePortServices(api),
      });
    try {
      // No tunnel: nothing listens for it, and the NodePort Services are not even asked.
      expect((await status()).profiles[0]).not.toHaveProperty("nodePorts");

      // A tunnel of ours holds the profile (as `mktunnel start --mode forward` in another shell does).
      const held = await engine.locks.acquire("minikube");
      if (!("release" in held)) throw new Error(`the profile's tunnel lock is held: ${JSON.stringify(held)}`);
      locks.push(held);
      const [profile] = (await status()).profiles;
      expect(profile!.tunnelLock).toMatchObject({ kind: "minikube-tunnel", pid: process.pid });
      const line = (n: { namespace: string; name: string; address: string; port: number; servicePort?: number }) =>
        `${n.namespace}/${n.name}:${n.servicePort} ${n.address}:${n.port}`;
      expect(profile!.nodePorts!.map((n) => `${line(n)} ${n.state}`).sort()).toEqual(
        [
          `default/shop:80 127.0.0.1:${shop80} listening`,
          `default/shop:81 127.0.0.1:${shop81} not-listening`,
          `default/web:80 127.0.0.1:${web80} listening`,
        ].sort(),
      );

      // A NodePort listing that fails costs its own line; the LoadBalancers' node ports stay.
      const failing = await buildStatusReport(engine, ["minikube"], {
        probe: false,
        modeOf: async () => "forward",
        services: () => listLoadBalancerServices(api),
        nodePortServices: async () => {
          throw new Error("forbidden: services is forbidden");
        },
      });
      expect(failing.profiles[0]).toMatchObject({
        nodePortsError: "forbidden: services is forbidden",
        nodePorts: [{ name: "web", port: web80, state: "listening" }],
      });
    } finally {
      api.close();
    }
  });

  it("a UDP node port is listening while something holds it bound, not-listening when free; SCTP is not forwarded", async () => {
    const held: Socket = createSocket("udp4");
    const port = await new Promise<number>((resolve) => held.bind(0, "127.0.0.1", () => resolve(held.address().port)));
    const free = createSocket("udp4");
    const freePort = await new Promise<number>((resolve) =>
      free.bind(0, "127.0.0.1", () => resolve(free.address().port)),
    );
    await new Promise<void>((resolve) => free.close(() => resolve()));
    try {
      const reports = await nodePortReports([
        {
          namespace: "default",
          name: "dns",
          ports: [
            { port: 53, protocol: "UDP", nodePort: port },
            { port: 54, protocol: "UDP", nodePort: freePort },
            { port: 3868, protocol: "SCTP", nodePort: 30868 },
          ],
        },
      ]);
      expect(reports.map((r) => `${r.protocol} ${r.port} ${r.state}`)).toEqual(
        [`UDP ${port} listening`, `UDP ${freePort} not-listening`, "SCTP 30868 udp-not-forwarded"].sort(
          (a, b) => Number(a.split(" ")[1]) - Number(b.split(" ")[1]),
        ),
      );
    } finally {
      await new Promise<void>((resolve) => held.close(() => resolve()));
    }
  });
});
