import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import { cleanup, service, setup, view } from "../../../../test-support/forward-access-setup.js";

// Forward mode's node ports (node-port-specs.ts) and its probe after the link comes back, with the fake
// link and carrier of test-support/forward-access-setup.ts: no ssh, no root, no sockets.

afterEach(cleanup);

const NODE_IP = "192.168.49.2";
/** A NodePort Service: no external IP, two node ports (one UDP). */
const nodePortService = {
  namespace: "shop",
  name: "cart",
  clusterIPs: ["10.96.0.30"],
  nodePorts: [
    { port: 80, nodePort: 30080, protocol: "TCP" },
    { port: 53, nodePort: 30053, protocol: "UDP" },
  ],
};
const lb = service("web", "127.70.0.1", { ports: [{ port: 8080, protocol: "TCP", nodePort: 31080 }] });
const states = (list: readonly { address: string; port: number; state: string }[] | undefined) =>
  (list ?? []).map((f) => `${f.address}:${f.port} ${f.state}`);

describe("ForwardAccess: node ports on 127.0.0.1", () => {
  it("every node port (a NodePort Service's and a LoadBalancer's) listens on 127.0.0.1:<nodePort>, to the node's own address", async () => {
    const { access, carrier, udp } = await setup({ nodeIp: NODE_IP });
    await access.start();
    access.servicesChanged(view([lb], [nodePortService]));
    await eventually(() => access.snapshot().nodePorts?.length === 3, { what: "three node ports" });
    // UDP goes through its relay to the same node port, never over the SSH carrier.
    expect(udp.listens).toEqual(["127.0.0.1:30053 -> node port 30053"]);
    expect(carrier.asked()).not.toContain("127.0.0.1:30053");
    expect(states(access.snapshot().nodePorts)).toEqual([
      "127.0.0.1:31080 listening",
      "127.0.0.1:30053 listening",
      "127.0.0.1:30080 listening",
    ]);
    expect(access.snapshot().nodePorts!.find((n) => n.port === 31080)).toMatchObject({
      namespace: "default",
      name: "web",
      servicePort: 8080,
      target: `${NODE_IP}:31080`,
    });
    const listen = carrier.listens.find((l) => l.address === "127.0.0.1" && l.port === 30080)!;
    expect(listen.target()).toEqual({ host: NODE_IP, port: 30080 });
    // The LoadBalancer's own address keeps its Service port, as before.
    expect(states(access.snapshot().forwards)).toEqual(["127.70.0.1:8080 listening"]);
  });

  it("a node port another program holds on this machine is that port's state, never fatal: the rest listen", async () => {
    const { access, carrier, link } = await setup({ nodeIp: NODE_IP });
    await access.start();
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    carrier.failures.set("127.0.0.1:30080", "EADDRINUSE");
    access.servicesChanged(view([lb], [nodePortService]));
    await eventually(() => access.snapshot().nodePorts?.length === 3, { what: "three node ports" });
    expect(access.snapshot().nodePorts!.find((n) => n.port === 30080)).toMatchObject({
      state: "port-in-use",
      error: "127.0.0.1:30080 is in use by another program",
    });
    expect(access.snapshot()).toMatchObject({ phase: "active" });
    expect(states(access.snapshot().nodePorts)).toContain("127.0.0.1:31080 listening");
    // Freed: a recheck listens.
    carrier.failures.clear();
    await access.recheck();
    expect(states(access.snapshot().nodePorts)).toContain("127.0.0.1:30080 listening");
  });

  it("a Service that goes takes its node ports' listeners with it; stop closes the rest", async () => {
    const { access, carrier, udp } = await setup({ nodeIp: NODE_IP });
    await access.start();
    access.servicesChanged(view([lb], [nodePortService]));
    await eventually(() => access.snapshot().nodePorts?.length === 3, { what: "three node ports" });
    access.servicesChanged(view([lb]));
    await eventually(() => access.snapshot().nodePorts?.length === 1, { what: "the NodePort Service's ports gone" });
    expect(carrier.closed).toEqual(["127.0.0.1:30080"]);
    expect(udp.closed).toEqual(["127.0.0.1:30053"]);
    await access.stop();
    expect(carrier.closed).toEqual(expect.arrayContaining(["127.0.0.1:31080", "127.70.0.1:8080"]));
  });

  it("without the profile's node address, node ports go to the node's loopback", async () => {
    const { access, carrier } = await setup();
    await access.start();
    access.servicesChanged(view([], [nodePortService]));
    await eventually(() => carrier.listens.some((l) => l.port === 30080), { what: "the node port's listener" });
    expect(carrier.listens.find((l) => l.port === 30080)!.target()).toEqual({ host: "127.0.0.1", port: 30080 });
  });

  it("off (--no-node-ports): nothing listens on 127.0.0.1 and the snapshot carries no node ports", async () => {
    const { access, carrier } = await setup({ nodeIp: NODE_IP, access: { nodePorts: false } });
    await access.start();
    access.servicesChanged(view([lb], [nodePortService]));
    await eventually(() => access.snapshot().forwards?.length === 1, { what: "the LoadBalancer's forward" });
    expect(carrier.asked()).toEqual(["127.70.0.1:8080"]);
    expect(access.snapshot().nodePorts).toBeUndefined();
  });
});

describe("ForwardAccess: the probe after the link comes back", () => {
  it("a probe that fails on a link just up (the node restarted, its API not up yet) is tried again soon, not after the interval", async () => {
    const { access, link } = await setup({ access: { probeRetryMs: 20, probeIntervalMs: 600_000 } });
    await access.start();
    link.probeError = new Error("channel open failed: connect refused");
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    await eventually(() => access.snapshot().probe?.ok === false, { what: "the failed probe" });
    link.probeError = null;
    await eventually(() => access.snapshot().probe?.ok === true, { what: "the probe again, ok" });
    expect(link.probes.length).toBeGreaterThanOrEqual(2);
    // Healthy: no more tries until the interval.
    const tries = link.probes.length;
    await new Promise((resolve) => setImmediate(resolve));
    expect(link.probes.length).toBe(tries);
  });

  it("`docker restart`: the link drops and comes back on a new port; the probe runs at once, and an answer of the old link's probe is not shown", async () => {
    const { access, link } = await setup({ access: { probeIntervalMs: 600_000 } });
    await access.start();
    // The old link's probe hangs until the link has gone and come back, then fails.
    let failOld: (error: Error) => void = () => undefined;
    const probe = link.probe.bind(link);
    link.probe = (host, port) =>
      link.probes.length === 0
        ? (link.probes.push(`${host}:${port}`), new Promise<void>((_, reject) => (failOld = reject)))
        : probe(host, port);
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    link.set({ state: "reconnecting", endpoint: "127.0.0.1:32772", error: "connection reset" });
    expect(access.snapshot().probe).toBeNull();
    link.set({ state: "up", endpoint: "127.0.0.1:32790" });
    expect(link.probes).toHaveLength(2);
    await eventually(() => access.snapshot().probe?.ok === true, { what: "the new link's probe" });
    failOld(new Error("the SSH link is not up"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(access.snapshot().probe).toMatchObject({ ok: true });
  });
});
