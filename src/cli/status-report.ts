import { addressAt, type Cidr, containsCidr, isValidIp, parseCidr } from "../shared/cidr.js";
import type { RouteConflict, RouteState } from "../shared/routes.js";
import { OWNER_ID } from "../shared/tunnel-entry.js";
import type { CidrKind, ClusterInspector } from "../engine/cluster/cluster-inspector.js";
import { type RouteTable, evaluateRoute, findRoute, registryViews } from "../engine/root/index.js";
import type { RegistryFile } from "../engine/registry/registry-file.js";
import type { ManagedService } from "../engine/lb/lb-controller.js";
import type { LinkNote, LockHolder, TunnelLocks } from "../engine/registry/tunnel-lock.js";
import { type ProbeResult, probeTcp } from "../engine/access/reachability-probe.js";
import { bindUdp } from "../engine/access/forwards/udp-forwarder.js";
import type { AccessMode } from "../engine/access/cluster-access.js";
import { containerEngineOf } from "../engine/cluster/container-cli.js";
import { FORWARD_RANGE } from "../engine/access/forwards/loopback-range.js";
import { NODE_PORT_ADDRESS } from "../engine/access/forwards/node-port-specs.js";
import type { IngressNames } from "../engine/ingress/name-types.js";
import { type IngressNameReport, type NameLookup, ingressReport } from "./ingress-status.js";
import type { NodePortService } from "./node-port-status.js";

export interface RegisteredTunnel {
  readonly profile: string;
  readonly pid: number;
  readonly alive: boolean;
  readonly writer: "minikube-tunnel" | "minikube";
  readonly routes: { readonly destination: string; readonly gateway: string; readonly inKernel: boolean }[];
}

/** Forward mode, seen from outside the tunnel's process: does each Service port answer on its loopback address? */
export interface ForwardReport {
  readonly namespace: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: string;
  readonly state: "listening" | "not-listening" | "udp-not-forwarded";
  /** A node port's (`port` is the node port, on 127.0.0.1): the Service port it stands for. */
  readonly servicePort?: number;
}

export interface ProfileStatus {
  readonly profile: string;
  readonly mode?: AccessMode;
  readonly forwards?: ForwardReport[];
  /**
   * Forward mode: the node ports of LoadBalancer and NodePort Services on 127.0.0.1:<nodePort>, when a tunnel runs
   * with them on.
   */
  readonly nodePorts?: ForwardReport[];
  /** The NodePort Services could not be listed (the LoadBalancers' node ports are still there). */
  readonly nodePortsError?: string;
  /** Forward mode: the running tunnel's SSH link, as it noted it in the tunnel lock. */
  readonly link?: LinkNote;
  readonly host: string | null;
  readonly nodeIp: string | null;
  readonly routes: {
    readonly cidr: string;
    readonly kind: CidrKind;
    readonly gateway: string;
    readonly state: RouteState;
    readonly conflict?: RouteConflict;
  }[];
  readonly probe: ProbeResult | null;
  readonly error?: string;
  readonly podCidrError?: string;
  /** LoadBalancer Services and their external IPs, when the API could be asked. */
  readonly services?: ManagedService[];
  readonly servicesError?: string;
  /** Route mode whose probe fails on a docker or podman node: forward mode would likely reach it. */
  readonly suggestion?: "forward-mode";
  /**
   * Who holds minikube's tunnel lock for the profile: a running `minikube tunnel`, or a tunnel of ours (and its pid).
   */
  readonly tunnelLock?: LockHolder;
  /** The cluster's Ingress hosts and Gateway hostnames, and whether each resolves here as the tunnel places it. */
  readonly ingresses?: IngressNameReport[];
  readonly gateways?: IngressNameReport[];
  readonly ingressError?: string;
}

export interface StatusOptions {
  lbPool?: readonly Cidr[];
  probe?: boolean;
  services?: (profile: string) => Promise<ManagedService[]>;
  /** Type NodePort Services, asked only while a forward-mode tunnel runs (its node ports are theirs too). */
  nodePortServices?: (profile: string) => Promise<NodePortService[]>;
  modeOf?: (profile: string) => Promise<AccessMode>;
  /** The cluster's Ingress and Gateway names (docs/architecture.md, "Ingress and Gateway names"). */
  ingressNames?: (profile: string) => Promise<IngressNames>;
  /** This machine's resolver; the system's by default. */
  lookup?: NameLookup;
}

export interface StatusReport {
  readonly registryPath: string;
  readonly tunnels: RegisteredTunnel[];
  readonly profiles: ProfileStatus[];
  readonly conflicts: RouteConflict[];
}

/**
 * Status worked out from the system itself (registry, kernel table, minikube),
 * so any process can ask it, not only the one running the tunnel.
 */
export async function buildStatusReport(
  deps: { registry: RegistryFile; table: RouteTable; inspector: ClusterInspector; locks?: TunnelLocks },
  profiles: readonly string[],
  options: StatusOptions = {},
): Promise<StatusReport> {
  const json = await deps.registry.readJson();
  const views = await registryViews(json);
  const kernel = { 4: await deps.table.list(4), 6: await deps.table.list(6) };
  const tunnels = new Map<string, RegisteredTunnel>();
  for (const { entry, alive } of views) {
    const key = `${entry.profile}\u0000${entry.pid}`;
    const tunnel = tunnels.get(key) ?? {
      profile: entry.profile,
      pid: entry.pid,
      alive,
      writer: entry.owner === OWNER_ID ? "minikube-tunnel" : "minikube",
      routes: [],
    };
    tunnel.routes.push({
      destination: entry.destination.text,
      gateway: entry.gateway,
      inKernel: findRoute(kernel[entry.destination.family], entry.destination, entry.gateway) !== undefined,
    });
    tunnels.set(key, tunnel);
  }
  const profileStatuses: ProfileStatus[] = [];
  for (const profile of profiles) {
    try {
      const mode = (await options.modeOf?.(profile)) ?? "route";
      if (mode === "forward") {
        profileStatuses.push(await forwardStatus(deps, profile, options));
        continue;
      }
      const view = await deps.inspector.inspect(profile, options.lbPool ? { lbPool: options.lbPool } : {});
      const routes: ProfileStatus["routes"][number][] = [];
      for (const { cidr, kind } of view.cidrs) {
        const gateway = view.nodeIp ?? "";
        const owned = views.find(
          (v) =>
            v.alive &&
            v.entry.profile === profile &&
            v.entry.destination.text === cidr.text &&
            v.entry.gateway === gateway,
        );
        if (owned) {
          const inKernel = findRoute(kernel[cidr.family], cidr, gateway) !== undefined;
          routes.push({ cidr: cidr.text, kind, gateway, state: inKernel ? "active" : "error" });
          continue;
        }
        const verdict = evaluateRoute(cidr, gateway, kernel[cidr.family], views, { profile, pid: -1 });
        routes.push(
          verdict.kind === "conflict"
            ? { cidr: cidr.text, kind, gateway, state: "conflict", conflict: verdict.conflict }
            : { cidr: cidr.text, kind, gateway, state: "pending" },
        );
      }
      const serviceActive = routes.some((r) => r.kind === "service" && r.state === "active");
      const probe =
        serviceActive && options.probe !== false ? await probeTcp(addressAt(view.serviceCidr, 1n), 443) : null;
      let services: { services?: ManagedService[]; servicesError?: string } = {};
      if (options.services && view.host === "Running") {
        services = await options.services(profile).then(
          (list) => ({ services: list }),
          (error: unknown) => ({ servicesError: (error as Error).message }),
        );
      }
      const tunnelLock = (await deps.locks?.check(profile).catch(() => null)) ?? null;
      const names = view.host === "Running" ? await namesOf(profile, "route", tunnelLock, options) : {};
      const suggest = probe !== null && !probe.ok && containerEngineOf(view.config.driver) !== null;
      profileStatuses.push({
        profile,
        mode,
        host: view.host,
        nodeIp: view.nodeIp,
        routes,
        probe,
        ...(suggest ? { suggestion: "forward-mode" as const } : {}),
        ...(view.podCidrError ? { podCidrError: view.podCidrError } : {}),
        ...services,
        ...(tunnelLock ? { tunnelLock } : {}),
        ...names,
      });
    } catch (error) {
      profileStatuses.push({
        profile,
        host: null,
        nodeIp: null,
        routes: [],
        probe: null,
        error: (error as Error).message,
      });
    }
  }
  const conflicts = profileStatuses.flatMap((p) => p.routes.flatMap((r) => (r.conflict ? [r.conflict] : [])));
  return { registryPath: deps.registry.path, tunnels: [...tunnels.values()], profiles: profileStatuses, conflicts };
}

const forwardRange = parseCidr(FORWARD_RANGE);

/** The names part of a profile's status; a cluster that cannot be asked costs one line, not the whole status. */
async function namesOf(
  profile: string,
  mode: AccessMode,
  tunnelLock: LockHolder | null,
  options: StatusOptions,
): Promise<Pick<ProfileStatus, "ingresses" | "gateways" | "ingressError">> {
  if (!options.ingressNames) return {};
  try {
    const names = await options.ingressNames(profile);
    return await ingressReport(names, mode, {
      tunnelRunning: tunnelLock?.kind === "minikube-tunnel",
      ...(options.lookup ? { lookup: options.lookup } : {}),
      ...(options.probe === false ? { probe: false } : {}),
    });
  } catch (error) {
    return { ingressError: (error as Error).message };
  }
}

/** Forward mode keeps no registry entries: what answers on the Services' loopback addresses is the state. */
async function forwardStatus(
  deps: { locks?: TunnelLocks },
  profile: string,
  options: StatusOptions,
): Promise<ProfileStatus> {
  const tunnelLock = (await deps.locks?.check(profile).catch(() => null)) ?? null;
  let services: ManagedService[] = [];
  let servicesError: string | undefined;
  if (options.services)
    await options.services(profile).then(
      (list) => (services = list),
      (error: Error) => (servicesError = error.message),
    );
  const forwards: ForwardReport[] = [];
  for (const service of services) {
    const address = service.externalIps
      .map((i) => i.ip)
      .find((ip): ip is string => ip !== undefined && isValidIp(ip) && containsCidr(forwardRange, parseCidr(ip)));
    if (!address || service.owner !== "minikube-tunnel") continue;
    for (const { port, protocol, nodePort } of service.ports) {
      const state = await portState(address, port, protocol, nodePort);
      forwards.push({ namespace: service.namespace, name: service.name, address, port, protocol, state });
    }
  }
  const running = tunnelLock?.kind === "minikube-tunnel";
  let nodePortServices: NodePortService[] = [];
  let nodePortsError: string | undefined;
  if (running && options.nodePortServices)
    await options.nodePortServices(profile).then(
      (list) => (nodePortServices = list),
      (error: Error) => (nodePortsError = error.message),
    );
  const nodePorts = running ? await nodePortReports([...services, ...nodePortServices]) : [];
  const link = tunnelLock?.kind === "minikube-tunnel" ? tunnelLock.link : undefined;
  const names = servicesError === undefined ? await namesOf(profile, "forward", tunnelLock, options) : {};
  return {
    profile,
    mode: "forward",
    ...(link ? { link } : {}),
    host: null,
    nodeIp: null,
    routes: [],
    probe: null,
    forwards,
    ...(nodePorts.length > 0 ? { nodePorts } : {}),
    ...(nodePortsError ? { nodePortsError } : {}),
    services,
    ...(servicesError ? { servicesError } : {}),
    ...(tunnelLock ? { tunnelLock } : {}),
    ...names,
  };
}

/**
 * Whether a running tunnel listens on a port, seen from another shell: a TCP port answers a connect; a UDP port is
 * bound (ours to bind fails with EADDRINUSE; a datagram would prove nothing, as UDP answers only if the Service does).
 * UDP without a node port, and SCTP, are not forwarded (udp-relays.ts).
 */
async function portState(
  address: string,
  port: number,
  protocol: string,
  nodePort: number | undefined,
): Promise<ForwardReport["state"]> {
  if (protocol === "TCP") return (await probeTcp(address, port, 500)).ok ? "listening" : "not-listening";
  if (protocol !== "UDP" || nodePort === undefined) return "udp-not-forwarded";
  return (await udpBound(address, port)) ? "listening" : "not-listening";
}

function udpBound(address: string, port: number): Promise<boolean> {
  return bindUdp(address, port).then(
    (socket) => new Promise<boolean>((resolve) => socket.close(() => resolve(false))),
    (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE",
  );
}

/**
 * The node ports a running forward-mode tunnel listens on by default (docs/architecture.md, "Forward mode"), each
 * knocked on at 127.0.0.1: the LoadBalancer and NodePort Services' node ports, sorted as the tunnel's own snapshot
 * sorts them.
 */
export async function nodePortReports(services: readonly NodePortService[]): Promise<ForwardReport[]> {
  const reports: ForwardReport[] = [];
  for (const service of services)
    for (const { port, nodePort, protocol } of service.ports) {
      if (!nodePort) continue;
      const state = await portState(NODE_PORT_ADDRESS, nodePort, protocol, nodePort);
      const { namespace, name } = service;
      reports.push({ namespace, name, address: NODE_PORT_ADDRESS, port: nodePort, protocol, state, servicePort: port });
    }
  return reports.sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.port - b.port,
  );
}
