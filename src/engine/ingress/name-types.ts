/**
 * What the cluster exposes by name through Ingress and Gateway API, per profile (docs/architecture.md, "Ingress and
 * Gateway names"). Plain data: the names and forwarding code map these to hosts-file lines, DNS answers and
 * forwarded ports.
 */

/**
 * Where a name's traffic goes inside the cluster:
 * - `node-hostport`: the ingress controller's pod listens on the node itself (hostPorts; minikube's ingress addon);
 *   `ip` is the node's address.
 * - `service-external`: a LoadBalancer Service's external IP, or a Gateway's `status.addresses` (which its
 *   implementation copies from that Service).
 * - `service-clusterip`: the controller's (or Gateway's) Service has no external IP: its ClusterIP.
 */
export type AddressKind = "node-hostport" | "service-external" | "service-clusterip";

/** One port at the address that serves the name, and what speaks there (TLS passthrough for a TLS listener). */
export interface ServedPort {
  readonly port: number;
  readonly protocol: "http" | "https" | "tls";
}

export interface NameAddress {
  readonly kind: AddressKind;
  readonly ip: string;
  /** Sorted by port; never empty. */
  readonly ports: readonly ServedPort[];
  /** `ns/name` of the Service the address belongs to (the `service-*` kinds). */
  readonly service?: string;
}

export type NameSource = "ingress" | "gateway";

export interface HostEntry {
  /** Lower case, no trailing dot; a wildcard starts with `*.`. */
  readonly host: string;
  readonly address: NameAddress;
  readonly source: NameSource;
  /** `ns/name` of the Ingress, or of the Gateway whose address answers. */
  readonly object: string;
  /**
   * `*.shop.test`: no hosts file can hold it. An Ingress wildcard covers exactly one more label, a Gateway's one or
   * more (`hostMatches` in hostnames.ts).
   */
  readonly wildcard: boolean;
  /** For a Gateway name: the routes (`Kind ns/name`) whose hostnames gave it, if any; a listener's own is not one. */
  readonly via?: readonly string[];
}

/** A name the cluster defines that has nowhere to go (yet), and why, for the window and `status --json`. */
export interface UnmappedName {
  readonly host: string;
  readonly source: NameSource;
  readonly object: string;
  readonly wildcard: boolean;
  readonly reason: string;
}

/**
 * One profile's names. `entries` is sorted by host, and the entries of one host oldest object first: Gateway API's
 * conflict rule (and ingress-nginx's) is that the oldest wins (`firstPerHost`).
 */
export interface IngressNames {
  readonly entries: readonly HostEntry[];
  readonly unmapped: readonly UnmappedName[];
}

/** Entries are the same entry when host, source and object are; `changed` is the same entry with a new address. */
export interface NamesDiff {
  readonly added: readonly HostEntry[];
  readonly removed: readonly HostEntry[];
  readonly changed: readonly { readonly before: HostEntry; readonly after: HostEntry }[];
}

/** What the `changed` event carries: the difference, and the whole new state. */
export interface IngressNamesChange extends NamesDiff {
  readonly names: IngressNames;
  readonly unmappedChanged: boolean;
}
