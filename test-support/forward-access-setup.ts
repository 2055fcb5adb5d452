import { EventEmitter } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";
import type { AccessSnapshot, LinkStatus, ServiceName, ServicesView } from "../src/engine/access/cluster-access.js";
import { ForwardAccess, type ForwardAccessOptions } from "../src/engine/access/forwards/forward-access.js";
import type { ForwardLink } from "../src/engine/access/forwards/forward-link.js";
import { servicePoolFor } from "../src/engine/access/forwards/ingress-forwards.js";
import type { LinkTarget } from "../src/engine/access/forwards/reconnecting-link.js";
import { ProfileNames } from "../src/engine/access/names/profile-names.js";
import type { ContainerCli, ContainerEngine, PublishedPort } from "../src/engine/cluster/container-cli.js";
import type { MinikubeCli } from "../src/engine/cluster/minikube-cli.js";
import { IpPool } from "../src/engine/lb/ip-pool.js";
import type { ManagedService } from "../src/engine/lb/lb-service.js";
import { TunnelLocks } from "../src/engine/registry/tunnel-lock.js";
import {
  type HostsEntry,
  type HostsResult,
  type ProfileDeclaration,
  type RootNames,
  fileAccessFor,
} from "../src/engine/root/index.js";
import type { HeldLock } from "../src/engine/system/file-lock.js";
import { FakeCarrier, FakeUdpCarrier } from "./fake-forward-carrier.js";

// ForwardAccess with every outside part faked, for forward-access*.test.ts: the link (its `createLink`
// dependency), the carrier, the container engine and root's names. Only MINIPATH and the tunnel lock
// are real, in a temporary directory: no root, no ssh, no docker.

export const PROFILE = "p";
const FIXTURES = join(import.meta.dirname, "..", "src", "engine", "access", "forwards", "fixtures");
const KEYS = await readFile(join(FIXTURES, "ssh_host_keys.pub.txt"), "utf8");
export const LOGIN_KEY = "-----BEGIN RSA PRIVATE KEY-----\nfake\n-----END RSA PRIVATE KEY-----\n";

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
/** Locks a test holds as another holder would: released after the accesses stopped, before MINIPATH goes. */
export const held: HeldLock[] = [];
const accesses: ForwardAccess[] = [];

/** Each test file's afterEach. */
export async function cleanup(): Promise<void> {
  vi.useRealTimers();
  for (const access of accesses.splice(0)) await access.stop().catch(() => undefined);
  for (const lock of held.splice(0)) await lock.release();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

export async function setup(
  options: {
    realLocks?: boolean;
    driver?: string;
    pollIntervalMs?: number;
    /** The node's address in the profile's config (Nodes[0].IP). */
    nodeIp?: string;
    /** More of ForwardAccessOptions: node ports off, the probe's retry. */
    access?: Pick<ForwardAccessOptions, "nodePorts" | "probeRetryMs" | "probeIntervalMs">;
  } = {},
) {
  const miniPath = await mkdtemp(join(tmpdir(), "mkt-forward-access-"));
  dirs.push(miniPath);
  await mkdir(join(miniPath, "profiles", PROFILE), { recursive: true });
  await writeFile(
    join(miniPath, "profiles", PROFILE, "config.json"),
    JSON.stringify({
      Name: PROFILE,
      Driver: options.driver ?? "docker",
      ...(options.nodeIp ? { Nodes: [{ IP: options.nodeIp, Port: 8443, ControlPlane: true }] } : {}),
    }),
  );
  await mkdir(join(miniPath, "machines", PROFILE), { recursive: true });
  await writeFile(join(miniPath, "machines", PROFILE, "id_rsa"), LOGIN_KEY, { mode: 0o600 });

  const link = new FakeLink();
  const carrier = new FakeCarrier(false);
  const udp = new FakeUdpCarrier();
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
  const pool = new IpPool([servicePoolFor(70)]);
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
      createUdp: () => udp,
    },
    {
      pool,
      releasePool: () => released++,
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
      ...options.access,
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
    udp,
    names,
    engines,
    node,
    pool,
    changes,
    released: () => released,
    resolve: () => resolveTarget!(),
  };
}

export const service = (name: string, ip: string, extra: Partial<ManagedService> = {}): ManagedService => ({
  namespace: "default",
  name,
  clusterIPs: ["10.96.0.9"],
  ports: [{ port: 8080, protocol: "TCP" }],
  externalIps: [{ ip, ipMode: "Proxy" }],
  owner: "minikube-tunnel",
  ...extra,
});
/** The controller's view: the LoadBalancer Services, and every Service (with node ports) besides them. */
export const view = (services: ManagedService[], others: ServiceName[] = []): ServicesView => ({
  allServices: () => [
    ...services.map((s) => {
      const nodePorts = s.ports.flatMap((p) =>
        p.nodePort ? [{ port: p.port, nodePort: p.nodePort, protocol: p.protocol }] : [],
      );
      return { ...s, ...(nodePorts.length > 0 ? { nodePorts } : {}) };
    }),
    ...others,
  ],
  services: () => services,
});
/** Lets promise callbacks run (a probe's result, a names update); one turn of the event loop, not a wait for time. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
