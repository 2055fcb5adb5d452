import type { Cidr } from "./cidr.js";

/** One row of an OS routing table, as read back from the kernel. */
export interface KernelRoute {
  readonly destination: Cidr;
  /** Next-hop address, or a link reference such as macOS `link#6`; null when on-link. */
  readonly gateway: string | null;
  /** Interface name (Linux/macOS) or interface address (Windows); null when the OS does not say. */
  readonly interface: string | null;
  /** Route type when not plain unicast (`unreachable`, `multicast`, `local`, ...). */
  readonly type?: string;
}

export type RouteState = "active" | "conflict" | "pending" | "error";

export type ConflictReason =
  /** The requested network and the existing route overlap (one contains the other). */
  | "overlap"
  /** Exactly this route already exists through our gateway, but no registry entry owns it. */
  | "unregistered-duplicate"
  /** Exactly this route exists and a live tunnel (another process or profile) owns it. */
  | "owned-by-other-tunnel"
  /**
   * Exactly this route exists and an entry of the user's tunnels.json claims it, but root did not add it: only the
   * operator's cleanup removes it.
   */
  | "not-added-by-root";

export interface RouteConflict {
  readonly requested: string;
  readonly existing: {
    readonly destination: string;
    readonly gateway: string | null;
    readonly interface: string | null;
  };
  readonly reason: ConflictReason;
  /** Set when a registry entry (ours or minikube's) claims the existing route. */
  readonly owner?: { readonly profile: string; readonly pid: number };
  /** One human sentence: why it blocks. */
  readonly message: string;
}

export function describeKernelRoute(route: KernelRoute): string {
  const via = route.gateway ? ` via ${route.gateway}` : "";
  const dev = route.interface ? ` dev ${route.interface}` : "";
  return `${route.destination.text}${via}${dev}`;
}
