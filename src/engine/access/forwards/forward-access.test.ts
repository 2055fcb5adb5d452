import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import {
  LOGIN_KEY,
  PROFILE,
  cleanup,
  service,
  settle,
  setup,
  view,
} from "../../../../test-support/forward-access-setup.js";
import { LinkUnavailable } from "./reconnecting-link.js";

// ForwardAccess's phases, where its link goes, and its Services, with every outside part faked
// (test-support/forward-access-setup.ts); its tunnel lock: forward-access-lock.test.ts.

afterEach(cleanup);

describe("ForwardAccess: the link's state is the phase", () => {
  it("start reads the profile, asks its container engine, and starts the link", async () => {
    const { access, link, engines, changes } = await setup();
    await access.start();
    expect(engines).toEqual(["docker"]);
    expect(link.calls).toEqual(["start"]);
    expect(access.snapshot()).toMatchObject({
      profile: PROFILE,
      mode: "forward",
      phase: "starting",
      host: null,
      nodeIp: null,
      routes: [],
      link: { state: "connecting", endpoint: null },
      forwards: [],
    });
    expect(changes.map((c) => c.phase)).toEqual(["starting"]);
  });

  it("a driver that is not docker or podman is refused at start", async () => {
    const { access, link } = await setup({ driver: "kvm2" });
    await expect(access.start()).rejects.toThrow(
      'profile "p" uses the kvm2 driver; forward mode needs docker or podman',
    );
    expect(link.calls).toEqual([]);
  });

  it("link up is phase active, with a probe of the kubernetes Service through the link", async () => {
    const { access, link } = await setup();
    await access.start();
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(access.snapshot()).toMatchObject({
      phase: "active",
      host: "Running",
      link: { state: "up", endpoint: "127.0.0.1:32772" },
    });
    // The first address of the default service CIDR, 10.96.0.0/12.
    expect(link.probes).toEqual(["10.96.0.1:443"]);
    await eventually(() => access.snapshot().probe?.ok, { what: "the probe's result" });
    expect(access.snapshot().probe).toMatchObject({ target: "10.96.0.1:443", ok: true });
  });

  it("a probe that fails is shown with its reason, the phase stays active", async () => {
    const { access, link } = await setup();
    await access.start();
    link.probeError = new Error("channel open failed: connect refused");
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    await eventually(() => access.snapshot().probe, { what: "the probe's result" });
    expect(access.snapshot()).toMatchObject({
      phase: "active",
      probe: { ok: false, error: "channel open failed: connect refused" },
    });
  });

  it("a healthy link probes again every probe interval; a link that went down stops probing", async () => {
    const { access, link } = await setup();
    await access.start();
    // Only the interval is faked: the profile and the lock are real files, read with real I/O.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    vi.advanceTimersByTime(60_000);
    expect(link.probes).toHaveLength(2);
    link.set({ state: "reconnecting", endpoint: "127.0.0.1:32772", error: "dropped" });
    vi.advanceTimersByTime(180_000);
    expect(link.probes).toHaveLength(2);
  });

  it("link reconnecting is phase retrying with the link's error; the probe result is dropped", async () => {
    const { access, link } = await setup();
    await access.start();
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    await eventually(() => access.snapshot().probe, { what: "the probe's result" });
    link.set({ state: "reconnecting", endpoint: "127.0.0.1:32772", error: "connect ECONNREFUSED 127.0.0.1:32772" });
    expect(access.snapshot()).toMatchObject({
      phase: "retrying",
      host: null,
      probe: null,
      message: "connect ECONNREFUSED 127.0.0.1:32772",
    });
  });

  it("a link waiting for the node is phase waiting-for-node, the host Stopped, and UDP's relays beside it go", async () => {
    const { access, link, udp } = await setup();
    await access.start();
    link.set({ state: "reconnecting", endpoint: null, error: 'the node\'s container "p" is not running' }, true);
    expect(access.snapshot()).toMatchObject({
      phase: "waiting-for-node",
      host: "Stopped",
      message: 'waiting for the node (the node\'s container "p" is not running)',
    });
    expect(udp.nodesGone).toBe(1);
    link.set({ state: "connecting", endpoint: null });
    expect(access.snapshot().phase).toBe("starting");
  });

  it("change events are deduplicated: the same link state twice is one change, and so is the same probe result", async () => {
    const { access, link, changes } = await setup();
    await access.start();
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    await eventually(() => access.snapshot().probe, { what: "the probe's result" });
    const count = changes.length;
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    await eventually(() => link.probes.length === 2, { what: "the second probe" });
    await settle();
    expect(changes).toHaveLength(count);
    link.set({ state: "reconnecting", endpoint: "127.0.0.1:32772", error: "x" });
    link.set({ state: "reconnecting", endpoint: "127.0.0.1:32772", error: "x" });
    expect(changes).toHaveLength(count + 1);
  });
});

describe("ForwardAccess: where the link goes", () => {
  it("the target: the published port, the node's pinned keys, user docker and the machine's key", async () => {
    const { access, resolve } = await setup();
    await access.start();
    const target = await resolve();
    expect(target).toMatchObject({ host: "127.0.0.1", port: 32772, username: "docker" });
    expect(target.privateKey.toString()).toBe(LOGIN_KEY);
    expect(target.hostKeys.map((k) => k.algorithm)).toEqual(["ssh-rsa", "ssh-ed25519"]);
  });

  it("no published port is the node down (wait); no host keys is not, and says why", async () => {
    const { access, node, resolve } = await setup();
    await access.start();
    node.sshPort = null;
    const down = await resolve().catch((error: unknown) => error);
    expect(down).toBeInstanceOf(LinkUnavailable);
    expect(down).toMatchObject({ nodeDown: true, message: 'the node\'s container "p" is not running' });
    node.sshPort = { host: "127.0.0.1", port: 32790 };
    node.hostKeys = "";
    await expect(resolve()).rejects.toMatchObject({
      nodeDown: false,
      message: expect.stringMatching(/^cannot learn the node's SSH host key/),
    });
  });

  it("a missing login key is LinkUnavailable naming the file", async () => {
    const { access, miniPath, resolve } = await setup();
    await access.start();
    await rm(join(miniPath, "machines", PROFILE, "id_rsa"));
    await expect(resolve()).rejects.toMatchObject({
      nodeDown: false,
      message: expect.stringContaining(
        `cannot read the node's login key ${join(miniPath, "machines", PROFILE, "id_rsa")}`,
      ),
    });
  });
});

describe("ForwardAccess: Services", () => {
  it("the controller's Services in our pool listen through the carrier and get their names", async () => {
    const { access, carrier, names, changes } = await setup();
    await access.start();
    access.servicesChanged(
      view([
        service("web", "127.70.0.1", {
          ports: [
            { port: 8080, protocol: "TCP" },
            { port: 8443, protocol: "TCP" },
          ],
        }),
        service("theirs", "127.70.0.2", { owner: "other" }),
        service("outside", "192.168.49.100"),
      ]),
    );
    await eventually(() => access.snapshot().forwards?.length === 2, { what: "two forwards" });
    expect(carrier.asked().sort()).toEqual(["127.70.0.1:8080", "127.70.0.1:8443"]);
    expect(access.snapshot().forwards!.map((f) => `${f.address}:${f.port} ${f.target} ${f.state}`)).toEqual([
      "127.70.0.1:8080 10.96.0.9:8080 listening",
      "127.70.0.1:8443 10.96.0.9:8443 listening",
    ]);
    expect(changes.at(-1)!.forwards).toHaveLength(2);
    await eventually(() => access.snapshot().names?.state === "on", { what: "names on" });
    expect(names.declared).toEqual([
      { profile: PROFILE, nodeIp: null, cidrs: [], clusterDomain: "cluster.local", clusterDnsIp: "" },
    ]);
    expect(names.hosts).toEqual([[{ ip: "127.70.0.1", names: ["web.default.svc.cluster.local", "web.default"] }]]);
  });

  it("attacked: another local user listening first on a Service's predicted address: its names never point there, the others' do", async () => {
    const { access, carrier, names } = await setup();
    await access.start();
    carrier.failures.set("127.70.0.1:8080", "EADDRINUSE");
    access.servicesChanged(view([service("shop", "127.70.0.1"), service("web", "127.70.0.2")]));
    await eventually(() => access.snapshot().names?.state === "on", { what: "names on" });
    expect(access.snapshot().forwards!.map((f) => `${f.address}:${f.port} ${f.state}`)).toEqual([
      "127.70.0.1:8080 port-in-use",
      "127.70.0.2:8080 listening",
    ]);
    expect(names.hosts).toEqual([[{ ip: "127.70.0.2", names: ["web.default.svc.cluster.local", "web.default"] }]]);
    // The other program went away: a recheck listens, and only then is the name written.
    carrier.failures.clear();
    await access.recheck();
    await eventually(() => names.hosts.length === 2, { what: "the names again" });
    expect(names.hosts.at(-1)!.map((e) => e.ip)).toEqual(["127.70.0.1", "127.70.0.2"]);
  });

  it("a burst of changes is applied in one pass, with the last set", async () => {
    const { access, carrier } = await setup();
    await access.start();
    access.servicesChanged(view([service("a", "127.70.0.1")]));
    access.servicesChanged(view([service("a", "127.70.0.1"), service("b", "127.70.0.2")]));
    access.servicesChanged(view([service("b", "127.70.0.2")]));
    await eventually(() => access.snapshot().forwards?.length === 1, { what: "one forward" });
    await settle();
    expect(carrier.asked()).toEqual(["127.70.0.2:8080"]);
  });

  it("controllerPlan is forward mode on the profile's own pool", async () => {
    const { access, pool } = await setup();
    expect(access.controllerPlan()).toEqual({ mode: "forward", pool });
    expect(access.controllerPlan().pool).toBe(pool);
  });

  it("stop closes the listeners, the link and the UDP relays, gives the pool back, clears the names, and is stopped", async () => {
    const { access, link, carrier, udp, names, changes, released } = await setup();
    await access.start();
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    access.servicesChanged(view([service("web", "127.70.0.1")]));
    await eventually(() => access.snapshot().forwards?.length === 1 && access.snapshot().names?.state === "on", {
      what: "a forward with its name",
    });
    await access.stop();
    expect(carrier.closed).toEqual(["127.70.0.1:8080"]);
    expect(udp.removedAll).toBe(1);
    expect(link.calls).toEqual(["start", "close"]);
    expect(released()).toBe(1);
    expect(names.hosts.at(-1)).toBeNull();
    expect(access.snapshot()).toMatchObject({ phase: "stopped", probe: null, forwards: [], names: { state: "off" } });
    expect(changes.at(-1)!.phase).toBe("stopped");
    // The link's own "down" on close does not turn the phase back, and nothing listens after a stop.
    access.servicesChanged(view([service("web", "127.70.0.1")]));
    await settle();
    expect(carrier.listens).toHaveLength(1);
  });

  it("a start takes away the UDP relays a killed tunnel of the profile left, and says so", async () => {
    const { access, udp } = await setup();
    udp.left = ["mktunnel-udp-minikube-30053"];
    const logs: string[] = [];
    access.on("log", (line: string) => logs.push(line));
    await access.start();
    expect(udp.swept).toEqual(["mktunnel-udp-minikube-30053"]);
    expect(logs).toContain("removed UDP relays a killed tunnel left: mktunnel-udp-minikube-30053");
  });
});
