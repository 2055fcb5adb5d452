import type { Cidr } from "../../../shared/cidr.js";
import type { RouteConflict } from "../../../shared/routes.js";

export interface RouteRequest {
  readonly destination: Cidr;
  readonly gateway: string;
  readonly profile: string;
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
}

export interface RouteRef {
  readonly destination: Cidr;
  readonly gateway: string;
  readonly profile: string;
}

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

/**
 * What the tunnel needs from whoever changes routes: the in-process registrar
 * when we are root, or the privileged helper's client otherwise. Changes come
 * in batches: one lock, one read of the table before, one after.
 */
export interface RouteService {
  /** Tells the route changer which networks and gateway a profile may use; the helper refuses anything else. */
  declare(profile: string, nodeIp: string, cidrs: readonly Cidr[], clusterDomain: string, clusterDnsIp: string): Promise<void>;
  addRoutes(requests: readonly RouteRequest[]): Promise<AddOutcome[]>;
  removeRoutes(routes: readonly RouteRef[]): Promise<RemoveOutcome[]>;
}
