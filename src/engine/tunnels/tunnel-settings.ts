import type { ModeChoice } from "../cluster/access-mode.js";
import type { IngressDiscoveryOptions } from "../ingress/ingress-discovery.js";
import type { LbMode } from "../lb/lb-controller.js";

/** What a profile's tunnel is started with (the CLI's flags, or the app's preferences). */
export interface LoadBalancerSettings {
  readonly enabled: boolean;
  readonly mode: LbMode;
  /** CIDRs or start-end ranges; empty means the profile's LoadBalancerStartIP-EndIP. */
  readonly pool: readonly string[];
  readonly className: string | null;
  readonly releaseOnStop: boolean;
}

export interface TunnelSettings {
  /** Route or forward, or "auto" to follow minikube's own rule for the driver. */
  readonly mode?: ModeChoice;
  /** Cluster names on this machine (on unless false: --no-dns, or the preference). */
  readonly names?: boolean;
  readonly lb: LoadBalancerSettings;
  /** Ingress hosts and Gateway hostnames resolve and answer (on unless false: --no-ingress). */
  readonly ingress?: boolean;
  /** Forward mode: every node port on 127.0.0.1:<nodePort> (on unless false: --no-node-ports). */
  readonly nodePorts?: boolean;
  /** Ingress discovery's settings (tests shorten its polls). */
  readonly ingressDiscovery?: IngressDiscoveryOptions;
  /** How often a healthy access checks its node. */
  readonly pollIntervalMs?: number;
}

/** A setting the user has to change: the CLI exits 2 on it, the app shows it. */
export class TunnelSettingsError extends Error {}
