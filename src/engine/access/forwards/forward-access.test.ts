import { EventEmitter } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeCarrier } from "../../../../test-support/fake-forward-carrier.js";
import { eventually } from "../../../../test-support/eventually.js";
import type { ContainerCli, ContainerEngine, PublishedPort } from "../../cluster/container-cli.js";
import type { MinikubeCli } from "../../cluster/minikube-cli.js";
import { IpPool } from "../../lb/ip-pool.js";
import type { ManagedService } from "../../lb/lb-service.js";
import { TunnelLocks, tunnelLockPath } from "../../registry/tunnel-lock.js";
import {
  type HostsEntry,
  type HostsResult,
  type ProfileDeclaration,
  type RootNames,
  fileAccessFor,
} from "../../root/index.js";
import { type HeldLock, tryLockFile } from "../../system/file-lock.js";
import type { AccessSnapshot, LinkStatus, ServicesView } from "../cluster-access.js";
import { ProfileNames } from "../names/profile-names.js";
import { ForwardAccess } from "./forward-access.js";
import type { ForwardLink } from "./forward-link.js";
import { loopbackPoolFor } from "./loopback-range.js";
import { type LinkTarget, LinkUnavailable } from "./reconnecting-link.js";

// ForwardAccess's phases, listeners, names and lock with every outside part faked: the link (its
// `createLink` dependency), the carrier, the container engine and root's names. Only MINIPATH and
// the tunnel lock are real, in a temporary directory: no root, no ssh, no docker.

const PROFILE = "p";
const KEYS = await readFile(join(import.meta.dirname, "fixtures", "ssh_host_keys.pub.txt"), "utf8");
const LOGIN_KEY = "-----BEGIN RSA PRIVATE KEY-----\nfake\n-----END RSA PRIVATE KEY-----\n";

/** A link that does nothing by itself: the test says which state it is in. */
class FakeLink extends EventEmitter implements ForwardLink {
  current: LinkStatus = { state: "connecting", endpoint: null };
  waitingForNode = false;
  readonly calls: string[] = [];
  readonly probes: string[] = [];
  probeError: Error | null = null;

  status(): LinkStatus {
    return this.current;
  }
  async start(): Promise<void> {
    this.calls.push("start");
  }
  async reconnect(): Promise<void> {
    this.calls.push("reconnect");
  }
  async close(): Promise<void> {
    this.calls.push("close");
    this.set({ state: "down", endpoint: this.current.endpoint });
  }
  async probe(host: string, port: number): Promise<void> {
    this.probes.push(`${host}:${port}`);
    if (this.probeError) throw this.probeError;
  }
  set(status: LinkStatus, waitingForNode = false): void {
    this.current = status;
    this.waitingForNode = waitingForNode;
    this.emit("state", status);
  }
}

/** Root's names part as a recorder; it writes every name it is given. */
class FakeNames implements RootNames {
  readonly declared: ProfileDeclaration[] = [];
  readonly hosts: (readonly HostsEntry[] | null)[] = [];
  async declare(declaration: ProfileDeclaration): Promise<void> {
    this.declared.push(declaration);
  }
  async setHosts(_profile: string, entries: readonly HostsEntry[] | null): Promise<HostsResult> {
    this.hosts.push(entries);
    return { written: entries?.length ?? 0, dropped: [] };
  }
  async setDns(): Promise<string | null> {
    return null;
  }
  async dnsUnavailable(): Promise<string | null> {
    return null;
  }
}

const dirs: string[] = [];
const held: HeldLock[] = [];
const accesses: ForwardAccess[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const access of accesses.splice(0)) await access.stop().catch(() => undefined);
  for (const lock of held.splice(0)) await lock.release();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function setup(options: { realLocks?: boolean; driver?: string; pollIntervalMs?: number } = {}) {
  const miniPath = await mkdtemp(join(tmpdir(), "mkt-forward-access-"));
  dirs.push(miniPath);
  await mkdir(join(miniPath, "profiles", PROFILE), { recursive: true });
  await writeFile(
    join(miniPath, "profiles", PROFILE, "config.json"),
    JSON.stringify({ Name: PROFILE, Driver: options.driver ?? "docker" }),
  );
  await mkdir(join(miniPath, "machines", PROFILE), { recursive: true });
  await writeFile(join(miniPath, "machines", PROFILE, "id_rsa"), LOGIN_KEY, { mode: 0o600 });

  const link = new FakeLink();
  const carrier = new FakeCarrier(false);
  const names = new FakeNames();
  const engines: ContainerEngine[] = [];
  // What `docker container inspect` and `docker exec … cat` would answer; a test changes them.
  const node = { sshPort: { host: "127.0.0.1", port: 32772 } as PublishedPort | null, hostKeys: KEYS };
  const containers = {
    engine: "docker",
    sshPort: async () => node.sshPort,
    hostPublicKeys: async () => node.hostKeys,
  } as unknown as ContainerCli;
  const locks = options.realLocks ? new TunnelLocks(miniPath, () => fileAccessFor(miniPath)) : null;
  const pool = new IpPool([loopbackPoolFor(70)]);
  let released = 0;
  let resolveTarget: (() => Promise<LinkTarget>) | null = null;
  const access = new ForwardAccess(
    {
      profile: PROFILE,
      locks,
      names: (changed) => new ProfileNames(PROFILE, "cluster.local", names, () => undefined, changed),
    },
    {
      miniPath,
      minikube: {} as MinikubeCli,
      containers: (engine) => (engines.push(engine), containers),
      locks,
      privileges: () => null,
      createLink: (resolve) => ((resolveTarget = resolve), { link, carrier }),
    },
    {
      pool,
      releasePool: () => released++,
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    },
  );
  accesses.push(access);
  const changes: AccessSnapshot[] = [];
  access.on("change", (s: AccessSnapshot) => changes.push(s));
  return {
    miniPath,
    access,
    link,
    carrier,
    names,
    engines,
    node,
    pool,
    changes,
    released: () => released,
    resolve: () => resolveTarget!(),
  };
}

const service = (name: string, ip: string, extra: Partial<ManagedService> = {}): ManagedService => ({
  namespace: "default",
  name,
  clusterIPs: ["10.96.0.9"],
  ports: [{ port: 8080, protocol: "TCP" }],
  ingress: [{ ip, ipMode: "Proxy" }],
  owner: "minikube-tunnel",
  ...extra,
});
const view = (services: ManagedService[]): ServicesView => ({ allServices: () => services, services: () => services });
/** Lets promise callbacks run (a probe's result, a names update); one turn of the event loop, not a wait for time. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

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

  it("a link waiting for the node is phase waiting-for-node, the host Stopped", async () => {
    const { access, link } = await setup();
    await access.start();
    link.set({ state: "reconnecting", endpoint: null, error: 'the node\'s container "p" is not running' }, true);
    expect(access.snapshot()).toMatchObject({
      phase: "waiting-for-node",
      host: "Stopped",
      message: 'waiting for the node (the node\'s container "p" is not running)',
    });
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

  it("stop closes the listeners and the link, gives the pool back, clears the names, and is stopped", async () => {
    const { access, link, carrier, names, changes, released } = await setup();
    await access.start();
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    access.servicesChanged(view([service("web", "127.70.0.1")]));
    await eventually(() => access.snapshot().forwards?.length === 1 && access.snapshot().names?.state === "on", {
      what: "a forward with its name",
    });
    await access.stop();
    expect(carrier.closed).toEqual(["127.70.0.1:8080"]);
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
});

describe("ForwardAccess: minikube's tunnel lock", () => {
  it("held while it runs, with the link's state noted in it for status from another process", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true });
    await access.start();
    expect(link.calls).toEqual(["start"]);
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    const lockFile = tunnelLockPath(miniPath, PROFILE);
    await eventually(
      async () => (await readFile(lockFile, "utf8")).includes('link {"state":"up","endpoint":"127.0.0.1:32772"}'),
      { what: "the link noted in the lock" },
    );
    expect(await readFile(lockFile, "utf8")).toMatch(new RegExp(`^minikube-tunnel pid=${process.pid}\\b`));
    expect(await tryLockFile(lockFile, await fileAccessFor(miniPath))).toBeNull();
  });

  it("a lock someone else holds is phase blocked: the link is not started; a stop ends the lock's poll", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true });
    // Held without our marker: as `minikube tunnel` holds it.
    held.push((await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!);
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    await access.start();
    expect(link.calls).toEqual([]);
    expect(access.snapshot()).toMatchObject({
      phase: "blocked",
      message: "`minikube tunnel` is running for this profile; this tunnel waits and forwards nothing",
    });
    // Link events while blocked change nothing.
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(access.snapshot().phase).toBe("blocked");
    expect(vi.getTimerCount()).toBe(1);
    await access.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("recheck after the holder let go takes the lock and starts the link", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    await access.start();
    await access.recheck();
    expect(link.calls).toEqual([]);
    await lock.release();
    await access.recheck();
    expect(link.calls).toEqual(["start"]);
  });

  it("after taking over the lock, the link's states are the phase again, and the link is noted in the lock", async () => {
    const { access, link, miniPath, changes } = await setup({ realLocks: true });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    await access.start();
    await lock.release();
    await access.recheck();
    // Before the link says anything, the phase is the link's (connecting: starting), no longer "waits and forwards
    // nothing".
    expect(access.snapshot()).toMatchObject({ phase: "starting", link: { state: "connecting" } });
    expect(access.snapshot().message).toBeUndefined();
    expect(changes.map((c) => c.phase)).toEqual(["blocked", "starting"]);
    const lockFile = tunnelLockPath(miniPath, PROFILE);
    await eventually(
      async () => (await readFile(lockFile, "utf8")).includes('link {"state":"connecting","endpoint":null}'),
      { what: "the link noted in the lock" },
    );
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(access.snapshot().phase).toBe("active");
    await eventually(
      async () => (await readFile(lockFile, "utf8")).includes('link {"state":"up","endpoint":"127.0.0.1:32772"}'),
      { what: "the link's new state noted in the lock" },
    );
  });

  it("while blocked, Services open no listener and write no name; taking the lock applies the latest set", async () => {
    const { access, link, carrier, names, miniPath } = await setup({ realLocks: true });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    await access.start();
    access.servicesChanged(view([service("old", "127.70.0.1")]));
    access.servicesChanged(view([service("web", "127.70.0.2")]));
    await settle();
    // `minikube tunnel` holds the profile: its Services are its own to forward and name.
    expect(carrier.listens).toEqual([]);
    expect(names.declared).toEqual([]);
    expect(names.hosts).toEqual([]);
    expect(access.snapshot()).toMatchObject({ phase: "blocked", forwards: [] });
    // A recheck that finds the lock still held changes nothing.
    await access.recheck();
    await settle();
    expect(carrier.listens).toEqual([]);
    expect(names.hosts).toEqual([]);
    await lock.release();
    await access.recheck();
    await eventually(() => access.snapshot().forwards?.length === 1 && access.snapshot().names?.state === "on", {
      what: "the held-back Service forwarded and named",
    });
    expect(carrier.asked()).toEqual(["127.70.0.2:8080"]);
    expect(names.hosts).toEqual([[{ ip: "127.70.0.2", names: ["web.default.svc.cluster.local", "web.default"] }]]);
    expect(link.calls).toEqual(["start"]);
  });

  it("a blocked tunnel tries the lock again on its poll, and takes over by itself once the holder lets go", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true, pollIntervalMs: 2000 });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    // Only the poll is faked: the lock is a real file, tried with real I/O.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    await access.start();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2000);
    // A recheck joins the poll's try in flight rather than opening the lock file a second time.
    await access.recheck();
    expect(link.calls).toEqual([]);
    expect(access.snapshot().phase).toBe("blocked");
    await lock.release();
    vi.advanceTimersByTime(2000);
    await eventually(() => link.calls.includes("start"), { what: "the link started after the poll took the lock" });
    expect(access.snapshot().phase).toBe("starting");
    // Holding the lock, it polls no more.
    expect(vi.getTimerCount()).toBe(0);
  });
});
