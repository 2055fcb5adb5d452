import type { Cidr } from "../../shared/cidr.js";
import type { AddOutcome, RouteRequest } from "./route-transaction.js";

/**
 * What the tunnel needs from whoever changes routes: the in-process registrar
 * when we are root, or the privileged helper's client otherwise.
 */
export interface RouteService {
  /** Tells the route changer which networks and gateway a profile may use; the helper refuses anything else. */
  declare(profile: string, nodeIp: string, cidrs: readonly Cidr[], clusterDomain: string, clusterDnsIp: string): Promise<void>;
  add(request: RouteRequest): Promise<AddOutcome>;
  remove(destination: Cidr, gateway: string, profile: string): Promise<"removed" | "not-registered">;
}
