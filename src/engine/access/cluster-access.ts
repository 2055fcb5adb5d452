import type { RouteConflict, RouteState } from "../../shared/routes.js";
import type { IpPool } from "../lb/ip-pool.js";
import type { LbMode } from "../lb/lb-controller.js";
import type { ManagedService } from "../lb/lb-service.js";
import type { CidrKind } from "../cluster/cluster-inspector.js";
import type { HostState } from "../cluster/minikube-cli.js";
import type { IngressNames } from "../ingress/name-types.js";
import type { ProbeResult } from "./reachability-probe.js";

/**
 * How the host reaches one profile's cluster (docs/architecture.md, "Access
 * modes"): routes to the node, or forwards over one SSH link when the node
 * cannot be routed to.
 */
export type AccessMode = "route" | "forward";

export type AccessPhase = "starting" | "active" | "waiting-for-node" | "retrying" | "blocked" | "stopping" | "stopped";

export interface RouteStatus {
  readonly cidr: string;
  readonly kind: CidrKind;
  readonly gateway: string;
  readonly state: RouteState;
  readonly conflict?: RouteConflict;
  readonly error?: string;
}

export type LinkState = "connecting" | "up" | "reconnecting" | "refused" | "down";

/** Forward mode's one SSH connection to the node. */
export interface LinkStatus {
  readonly state: LinkState;
  /** Where the node's SSH port is published, `127.0.0.1:PORT`. */
  readonly endpoint: string | null;
  readonly error?: string;
}

export type ForwardState = "listening" | "port-in-use" | "udp-not-forwarded" | "error";

/** One Service port in forward mode: a loopback address and port on the host, to ClusterIP:port through the link. */
export interface ForwardStatus {
  readonly namespace: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: string;
  readonly target: string;
  /** A node port's (`port` is the node port): the Service port it stands for. */
  readonly servicePort?: number;
  readonly state: ForwardState;
  readonly error?: string;
}

/** What the tray and window show: "names: on" with the domain, and a name that resolves. */
export interface NamesStatus {
  readonly state: "on" | "off" | "pending" | "error";
  readonly domain: string;
  /** How: "hosts file", "… on link mkt0 (systemd-resolved)", "/etc/resolver/cluster.local → …", "NRPT rule …". */
  readonly how?: string;
  readonly example?: string;
  readonly error?: string;
  /**
   * Names root would not write (a Service in namespace `tv` makes `name.tv`, a public name), with why: the rest are on.
   */
  readonly unmapped?: readonly { readonly name: string; readonly reason: string }[];
}

/** One port of an Ingress or Gateway name; in forward mode, whether its loopback listener is up. */
export interface IngressPortStatus {
  readonly port: number;
  readonly protocol: "http" | "https" | "tls";
  readonly state?: ForwardState;
  readonly error?: string;
}

/**
 * An Ingress host or a Gateway hostname as this machine reaches it (docs/architecture.md, "Ingress and Gateway
 * names"): at `address` when `mapped`; otherwise `reason` says why not, and `address` (when known) is what to use
 * with `curl --resolve` instead.
 */
export interface IngressNameStatus {
  readonly host: string;
  /** `ns/name` of the Ingress, or of the Gateway. */
  readonly object: string;
  readonly address: string | null;
  readonly ports: readonly IngressPortStatus[];
  readonly mapped: boolean;
  readonly reason?: string;
  readonly wildcard?: true;
  /** A Gateway name's routes (`HTTPRoute ns/name`), when it came through them. */
  readonly via?: readonly string[];
}

export interface AccessSnapshot {
  readonly profile: string;
  readonly mode: AccessMode;
  readonly phase: AccessPhase;
  readonly host: HostState | null;
  readonly nodeIp: string | null;
  /** Route mode: one per CIDR. Forward mode: none. */
  readonly routes: readonly RouteStatus[];
  readonly probe: ProbeResult | null;
  readonly message?: string;
  readonly link?: LinkStatus;
  readonly forwards?: readonly ForwardStatus[];
  /** Forward mode: each node port on `127.0.0.1:<nodePort>` (docs/architecture.md, "Forward mode"); absent when off. */
  readonly nodePorts?: readonly ForwardStatus[];
  /** Route mode whose probe fails with a docker or podman node: say that forward mode would likely work. */
  readonly suggestion?: "forward-mode";
  /** Cluster names on this machine; added by the profile's tunnel, which owns them. */
  readonly names?: NamesStatus;
  /** The cluster's Ingress hosts and Gateway hostnames, once the profile's tunnel follows them. */
  readonly ingresses?: readonly IngressNameStatus[];
  readonly gateways?: readonly IngressNameStatus[];
}

/** A Service as names need it: what it is called and where it answers. */
export interface ServiceName {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIPs: readonly string[];
  /** Its node ports (a NodePort Service's, a LoadBalancer's): forward mode listens on 127.0.0.1 at each. */
  readonly nodePorts?: readonly { readonly port: number; readonly nodePort: number; readonly protocol: string }[];
}

/** The LoadBalancer controller's view of the cluster's Services, as an access reads it. */
export interface ServicesView {
  /** Every Service: names and ClusterIPs. */
  allServices(): readonly ServiceName[];
  /** The LoadBalancer Services, with their external IPs and who set them. */
  services(): readonly ManagedService[];
}

/** How the LoadBalancer controller runs beside an access: which external IPs it writes, and from which pool. */
export interface ControllerPlan {
  readonly mode: LbMode;
  readonly pool?: IpPool;
}

/**
 * What a profile's tunnel holds to reach its cluster (docs/architecture.md,
 * "Access modes"): routes (RouteAccess) or SSH forwards (ForwardAccess), and
 * the cluster's names on this machine. A new mode implements this (most of it
 * comes with AccessBase) and registers a factory in tunnels/access-factories.ts; ProfileTunnel
 * does not change. Emits `change` (AccessSnapshot) and `log` (line).
 */
export interface ClusterAccess {
  readonly profile: string;
  readonly mode: AccessMode;
  /** First reconcile; a profile that cannot be read at all fails here, so the caller can report it. */
  start(): Promise<void>;
  /** Look again now (resume from sleep, network change). */
  recheck(): Promise<void>;
  /** Takes down everything this access set up, names included; rejects, naming each failure, after trying all of it. */
  stop(): Promise<void>;
  snapshot(): AccessSnapshot;
  /**
   * The LoadBalancer controller's Services, after every change: forward mode listens for them, route mode names them.
   */
  servicesChanged(view: ServicesView): void;
  /** The cluster's Ingress and Gateway names, after every change: each mode makes them resolve and answer. */
  ingressChanged(names: IngressNames): void;
  controllerPlan(): ControllerPlan;
  on(event: "change", listener: (snapshot: AccessSnapshot) => void): this;
  on(event: "log", listener: (line: string) => void): this;
  off(event: "change", listener: (snapshot: AccessSnapshot) => void): this;
  removeAllListeners(): this;
}
