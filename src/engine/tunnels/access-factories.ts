import type { AccessBasics } from "../access/access-base.js";
import type { AccessMode, ClusterAccess } from "../access/cluster-access.js";
import { ForwardAccess, type ForwardAccessDeps } from "../access/forwards/forward-access.js";
import type { SshClientKind } from "../access/forwards/forward-link.js";
import { loopbackOctetFor } from "../access/forwards/loopback-range.js";
import { ingressRangeFor, servicePoolFor } from "../access/forwards/ingress-forwards.js";
import type { SshLinkOptions } from "../access/forwards/reconnecting-link.js";
import { RouteAccess, type RouteAccessDeps } from "../access/routes/route-access.js";
import type { ProfileNames } from "../access/names/profile-names.js";
import { type ProfileConfig, readProfileConfig } from "../cluster/profile-config.js";
import { IpPool } from "../lb/ip-pool.js";
import type { TunnelLocks } from "../registry/tunnel-lock.js";
import { type LoadBalancerSettings, type TunnelSettings, TunnelSettingsError } from "./tunnel-settings.js";

/** What an access factory gets for one profile's tunnel (ProfileTunnel.create asks for one in the decided mode). */
export interface AccessRequest {
  readonly profile: string;
  readonly mode: AccessMode;
  readonly settings: TunnelSettings;
  readonly config: ProfileConfig;
  readonly log: (line: string) => void;
  /** The profile's names, for the access to own. */
  readonly names: (changed: () => void) => ProfileNames;
}

/** Route mode's LoadBalancer pool, routed too: the one given, else the profile's LoadBalancerStartIP-EndIP. */
export async function poolFor(
  miniPath: string,
  profile: string,
  lb: LoadBalancerSettings,
): Promise<IpPool | undefined> {
  if (!lb.enabled || lb.mode !== "pool") return undefined;
  if (lb.pool.length > 0) return new IpPool(lb.pool);
  const range = (await readProfileConfig(miniPath, profile)).loadBalancerRange;
  if (!range)
    throw new TunnelSettingsError(
      `profile "${profile}": LoadBalancer pool mode needs a pool (mktunnel --lb-pool, or the pool in Preferences), or LoadBalancerStartIP and LoadBalancerEndIP in the profile`,
    );
  return new IpPool([`${range.start}-${range.end}`]);
}

export interface AccessFactoryDeps {
  readonly miniPath: string;
  readonly locks: TunnelLocks | null;
  readonly route: RouteAccessDeps;
  readonly forward: ForwardAccessDeps;
  readonly sshClient: SshClientKind;
  readonly sshLink?: SshLinkOptions;
  /** Root working on another user's MINIPATH (root/acting-user.ts): their uid, else null. */
  readonly actingForUid?: number | null;
}

/**
 * One factory per access mode (docs/architecture.md, "Access modes"): what a
 * mode needs besides the tunnel's basics. A third mode is one more entry
 * here and a class on AccessBase; ProfileTunnel does not change.
 */
export function accessFactories(
  deps: AccessFactoryDeps,
): Record<AccessMode, (request: AccessRequest) => Promise<ClusterAccess>> {
  // Profiles of this process in forward mode each hold their own /16 of loopback addresses.
  const forwardOctets = new Set<number>();
  const basics = (request: AccessRequest): AccessBasics => ({
    profile: request.profile,
    locks: deps.locks,
    names: request.names,
  });
  return {
    route: async (request) => {
      const { lb, pollIntervalMs } = request.settings;
      const pool = await poolFor(deps.miniPath, request.profile, lb);
      return new RouteAccess(basics(request), deps.route, {
        lb: { mode: lb.mode, ...(pool ? { pool } : {}) },
        ...(pollIntervalMs ? { pollIntervalMs } : {}),
      });
    },
    forward: async (request) => {
      const { lb, pollIntervalMs } = request.settings;
      // Root's SSH client would log in to an endpoint (and pin keys) that user's container engine names: their
      // process runs forward mode, with the helper for the low ports.
      if (deps.actingForUid !== undefined && deps.actingForUid !== null && deps.actingForUid !== 0)
        throw new TunnelSettingsError(
          `profile "${request.profile}": forward mode is not run as root for another user's MINIPATH (uid ${deps.actingForUid}); run mktunnel as that user (it asks for the helper for ports below 1024), or use --mode route`,
        );
      if (!lb.enabled)
        throw new TunnelSettingsError(
          `profile "${request.profile}": forward mode needs the LoadBalancer controller, which gives each Service its loopback address (drop --no-lb, or use --mode route)`,
        );
      if (lb.mode === "pool")
        request.log(
          "the LoadBalancer pool is for routed clusters; in forward mode each Service gets a loopback address instead",
        );
      const octet = loopbackOctetFor(request.profile, forwardOctets);
      forwardOctets.add(octet);
      return new ForwardAccess(basics(request), deps.forward, {
        // The /16's last /24 is the Ingress and Gateway names' (ingress-forwards.ts): never a Service's address.
        pool: new IpPool([servicePoolFor(octet)]),
        ingressRange: ingressRangeFor(octet),
        releasePool: () => forwardOctets.delete(octet),
        sshClient: deps.sshClient,
        ...(request.settings.nodePorts === false ? { nodePorts: false } : {}),
        ...(deps.sshLink ? { link: deps.sshLink } : {}),
        ...(pollIntervalMs ? { pollIntervalMs } : {}),
      });
    },
  };
}
