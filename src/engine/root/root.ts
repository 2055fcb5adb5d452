import type { Cidr } from "../../shared/cidr.js";
import type { RouteConflict } from "../../shared/routes.js";

/** What a client declares for a profile before root acts for it: nothing outside it is ever done. */
export interface ProfileDeclaration {
  readonly profile: string;
  /** The node routes go through; null in forward mode (no routes, names only). */
  readonly nodeIp: string | null;
  readonly cidrs: readonly Cidr[];
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
}

/** A route of a declared profile: the declaration gives the rest (its domain and DNS, written into the entry). */
export interface RouteRef {
  readonly destination: Cidr;
  readonly gateway: string;
  readonly profile: string;
}

export type RouteRequest = RouteRef;

export type AddOutcome =
  /** `note`: something the user should know about how the route works here (a full-tunnel VPN it goes around). */
  | { readonly kind: "added" | "adopted" | "already-active"; readonly note?: string }
  | { readonly kind: "conflict"; readonly conflict: RouteConflict }
  | { readonly kind: "failed"; readonly error: string };

export type RemoveOutcome =
  | { readonly kind: "removed" }
  /** Another live tunnel holds the same route: only our entry went, the route stays for it. */
  | { readonly kind: "left-to-live-owner"; readonly owner: { readonly profile: string; readonly pid: number } }
  | { readonly kind: "not-ours" }
  | { readonly kind: "failed"; readonly error: string };

export interface CleanedRoute {
  readonly destination: string;
  readonly gateway: string;
  readonly profile: string;
  readonly pid: number;
  readonly writer: "minikube-tunnel" | "minikube";
  /** False when only the entry was dropped: the route was already gone, or a live tunnel still holds it. */
  readonly routeRemoved: boolean;
}

export interface CleanupFailure {
  readonly destination: string;
  readonly gateway: string;
  readonly profile: string;
  readonly pid: number;
  readonly error: string;
}

export interface CleanupReport {
  readonly removed: CleanedRoute[];
  readonly failures: CleanupFailure[];
  /**
   * Dead entries whose route root would not have added (a forged entry for the default route or a VPN's network): left
   * alone, and said.
   */
  readonly refused?: CleanupFailure[];
  readonly skippedAlive: number;
  /** Cluster-name settings (hosts blocks, resolver settings) that a dead tunnel left, taken back. */
  readonly names?: string[];
  /** Name settings that could not be taken back, with why. */
  readonly nameFailures?: string[];
}

/** One line of a profile's hosts block. */
export interface HostsEntry {
  readonly ip: string;
  readonly names: readonly string[];
  /** A Service's names (the default), or an Ingress or Gateway host's, which root judges by another rule. */
  readonly kind?: "service" | "ingress";
}

/** What root wrote of a hosts request: one bad name drops that name, never the batch. */
export interface HostsResult {
  readonly written: number;
  readonly dropped: readonly { readonly name: string; readonly reason: string }[];
}

/**
 * A wildcard Ingress or Gateway name (`*.shop.test`), which no hosts file can hold: root's DNS responder answers it
 * (the hook is `Root.setWildcards`; docs/architecture.md, "Ingress and Gateway names").
 */
export interface WildcardEntry {
  /** Lower case, starts with `*.`, no trailing dot. */
  readonly pattern: string;
  /** The same address the exact names of that controller or Gateway get. */
  readonly ip: string;
  /** An Ingress wildcard covers exactly one label, a Gateway's one or more (ingress/hostnames.ts `hostMatches`). */
  readonly reach: "one-label" | "one-or-more-labels";
}

/** What root did with a profile's wildcards: how they are answered, and each one it would not answer, with why. */
export interface WildcardsResult {
  readonly how?: string;
  readonly dropped: readonly { readonly name: string; readonly reason: string }[];
}

/** Route mode's names: the cluster's DNS server for the cluster's domain, on this machine's resolver. */
export interface ClusterDns {
  readonly domain: string;
  /** kube-dns's ClusterIP, reachable through the routes. */
  readonly server: string;
  /** The node: the Linux resolver binds queries to the link the route to it leaves by. */
  readonly gateway: string;
}

/**
 * Everything a tunnel asks root for (docs/architecture.md, "The root
 * boundary"): routes, forward mode's loopback ports and aliases, and cluster
 * names. Two implementations: `RootSession` in this process when it is root,
 * and the helper's client otherwise; the tunnel does not know which. Every
 * request is checked against the one policy (docs/security.md) on root's
 * side, and closing takes back everything that was set.
 */
export interface Root {
  /** The networks, node and domain a profile may use; nothing outside them is done for it. */
  declare(declaration: ProfileDeclaration): Promise<void>;
  /** One batch: one lock, one read of the table before, one after. */
  addRoutes(requests: readonly RouteRequest[]): Promise<AddOutcome[]>;
  removeRoutes(routes: readonly RouteRef[]): Promise<RemoveOutcome[]>;
  /** What dead tunnels left: routes and entries, names. */
  cleanup(): Promise<CleanupReport>;
  /** Forward mode on Linux, a port below 1024: root listens on address:port and relays to address:targetPort. */
  relay(address: string, port: number, targetPort: number): Promise<void>;
  unrelay(address: string, port: number): Promise<void>;
  /** Forward mode on macOS: an lo0 alias for a Service's loopback address. */
  alias(address: string, present: boolean): Promise<void>;
  /** The profile's block in the hosts file, under its declared domain; null removes it. */
  setHosts(profile: string, entries: readonly HostsEntry[] | null): Promise<HostsResult>;
  /** The profile's cluster DNS on the OS resolver; null removes it. Answers what was done. */
  setDns(profile: string, dns: ClusterDns | null): Promise<string | null>;
  /** Why the OS resolver cannot be used here (Linux without systemd-resolved), or null. */
  dnsUnavailable(): Promise<string | null>;
  /**
   * The profile's wildcard Ingress and Gateway names, answered by root's DNS responder; null takes them back. Optional
   * until the responder exists: without it, wildcards are shown as not mapped.
   */
  setWildcards?(profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult>;
  /** Takes back everything set through this root, and lets it go. */
  close(): Promise<void>;
  /** True once the root behind it is gone (a helper that died). */
  readonly closed?: boolean;
}

/** The part of Root a route access uses. */
export type RootRoutes = Pick<Root, "declare" | "addRoutes" | "removeRoutes">;
/** The part of Root a profile's names use. */
export type RootNames = Pick<Root, "declare" | "setHosts" | "setDns" | "dnsUnavailable" | "setWildcards">;
/** The part of Root forward mode's listeners use: ports below 1024 on Linux, loopback aliases on macOS. */
export type RootLoopback = Pick<Root, "relay" | "unrelay" | "alias">;
