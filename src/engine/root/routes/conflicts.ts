import { type Cidr, cidrsOverlap, isValidIp, normaliseIp } from "../../../shared/cidr.js";
import type { KernelRoute, RouteConflict } from "../../../shared/routes.js";
import type { TunnelEntry } from "../../../shared/tunnel-entry.js";

export interface RegistryView {
  readonly entry: TunnelEntry;
  readonly alive: boolean;
}

export interface Requester {
  readonly profile: string;
  readonly pid: number;
}

export type RouteVerdict =
  | { readonly kind: "add" }
  | { readonly kind: "already-ours"; readonly entry: TunnelEntry }
  | { readonly kind: "adopt"; readonly entry: TunnelEntry }
  | { readonly kind: "conflict"; readonly conflict: RouteConflict };

function sameGateway(route: KernelRoute, gateway: string): boolean {
  return route.gateway !== null && isValidIp(route.gateway) && normaliseIp(route.gateway) === normaliseIp(gateway);
}

/**
 * Who holds a kernel route: a live entry before any dead one, so a dead entry
 * of another profile listed first never makes a live tunnel's route look
 * adoptable (minikube keeps duplicates, and anyone can append to the file).
 */
function ownerOf(route: KernelRoute, registry: readonly RegistryView[]): RegistryView | undefined {
  const claims = registry.filter(
    (v) => v.entry.destination.text === route.destination.text && sameGateway(route, v.entry.gateway),
  );
  return claims.find((v) => v.alive) ?? claims[0];
}

function existing(route: KernelRoute): RouteConflict["existing"] {
  return { destination: route.destination.text, gateway: route.gateway, interface: route.interface };
}

/**
 * The default route, and the two halves a full-tunnel VPN installs instead
 * of replacing it (OpenVPN's def1 and wg-quick add 0/1 and 128.0/1, or ::/1
 * and 8000::/1): a more specific route always wins over these, so they never
 * block a cluster network.
 */
export function isDefaultLike(cidr: Cidr): boolean {
  return cidr.prefix <= 1;
}

/**
 * Said once when a full-tunnel VPN is up: the cluster's routes are more specific, so cluster traffic goes around it.
 */
export function vpnBypassNote(kernelRoutes: readonly KernelRoute[]): string | null {
  const halves = kernelRoutes.filter((r) => r.destination.prefix === 1);
  if (halves.length === 0) return null;
  const via = [...new Set(halves.map((r) => r.interface ?? r.gateway ?? "?"))].join(", ");
  return `a full-tunnel VPN is up (${halves.map((r) => r.destination.text).join(", ")} via ${via}); the cluster's routes are more specific, so cluster traffic goes to the node directly, not through the VPN`;
}

/**
 * docs/architecture.md, "Conflicts": any existing route that contains, or is contained by, the
 * requested network blocks it, except default routes. The exact route through
 * our gateway is ours when our own entry owns it, adoptable when its owner is
 * dead, and reported otherwise.
 */
export function evaluateRoute(
  destination: Cidr,
  gateway: string,
  kernelRoutes: readonly KernelRoute[],
  registry: readonly RegistryView[],
  requester: Requester,
): RouteVerdict {
  const relevant = kernelRoutes.filter(
    (r) =>
      r.destination.family === destination.family &&
      !isDefaultLike(r.destination) &&
      cidrsOverlap(r.destination, destination),
  );
  const exact = relevant.find((r) => r.destination.text === destination.text && sameGateway(r, gateway));
  const others = relevant.filter((r) => r !== exact);
  const blocking = others[0];
  if (blocking) {
    const owner = ownerOf(blocking, registry);
    const ownerText = owner ? ` (registered to profile "${owner.entry.profile}", pid ${owner.entry.pid})` : "";
    const where = `${blocking.gateway ? ` via ${blocking.gateway}` : ""}${blocking.interface ? ` on ${blocking.interface}` : ""}`;
    const subject =
      blocking.destination.text === destination.text
        ? `${destination.text} is already routed${where}`
        : blocking.destination.prefix < destination.prefix
          ? `${destination.text} lies inside the existing route ${blocking.destination.text}${where}`
          : `${destination.text} contains the existing route ${blocking.destination.text}${where}`;
    return {
      kind: "conflict",
      conflict: {
        requested: destination.text,
        existing: existing(blocking),
        reason: "overlap",
        ...(owner ? { owner: { profile: owner.entry.profile, pid: owner.entry.pid } } : {}),
        message: `${subject}${ownerText}`,
      },
    };
  }
  if (!exact) return { kind: "add" };
  const owner = ownerOf(exact, registry);
  if (!owner) {
    return {
      kind: "conflict",
      conflict: {
        requested: destination.text,
        existing: existing(exact),
        reason: "unregistered-duplicate",
        message: `${destination.text} via ${gateway} already exists but no tunnel registered it, so it is left alone`,
      },
    };
  }
  if (owner.entry.pid === requester.pid && owner.entry.profile === requester.profile)
    return { kind: "already-ours", entry: owner.entry };
  if (!owner.alive) return { kind: "adopt", entry: owner.entry };
  return {
    kind: "conflict",
    conflict: {
      requested: destination.text,
      existing: existing(exact),
      reason: "owned-by-other-tunnel",
      owner: { profile: owner.entry.profile, pid: owner.entry.pid },
      message: `${destination.text} via ${gateway} is held by a running tunnel (profile "${owner.entry.profile}", pid ${owner.entry.pid})`,
    },
  };
}
