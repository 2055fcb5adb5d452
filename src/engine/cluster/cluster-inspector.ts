import { type Cidr, addressAt, containsCidr, parseCidr } from "../../shared/cidr.js";
import type { HostState, MinikubeCli } from "./minikube-cli.js";
import type { PodCidrSource } from "./node-pod-cidrs.js";
import { type ProfileConfig, readProfileConfig } from "./profile-config.js";

export type CidrKind = "service" | "pod" | "lb-pool";

/** The widest pod range a Node gets: minikube's whole cluster range is a /16 (10.244.0.0/16), a node's a /24; IPv6 ranges are /48 at most. */
const WIDEST_POD_PREFIX = { 4: 16, 6: 48 } as const;

export interface RoutedCidr {
  readonly cidr: Cidr;
  readonly kind: CidrKind;
}

export interface ClusterView {
  readonly profile: string;
  readonly config: ProfileConfig;
  readonly host: HostState;
  readonly nodeIp: string | null;
  readonly serviceCidr: Cidr;
  readonly clusterDnsIp: string;
  /** Every CIDR to route, service first, without duplicates. */
  readonly cidrs: readonly RoutedCidr[];
  /** Why pod CIDRs are missing, when the API could not be asked. */
  readonly podCidrError?: string;
}

export interface InspectOptions {
  /** Extra pool networks to route (LoadBalancer pool mode). */
  readonly lbPool?: readonly Cidr[];
  /** Stop, SIGTERM or Quit: give up at once and kill any minikube command in flight. */
  readonly signal?: AbortSignal;
}

/**
 * Reads a profile from disk, minikube and the API, and works out what to
 * route (docs/architecture.md, "What happens on Start"). `inspect` asks
 * minikube; `refresh` re-reads only the profile and the API, so a healthy
 * tunnel never spawns minikube.
 */
export class ClusterInspector {
  constructor(
    private readonly miniPath: string,
    private readonly minikube: MinikubeCli,
    private readonly podCidrSource: PodCidrSource | null,
  ) {}

  async inspect(profile: string, options: InspectOptions = {}): Promise<ClusterView> {
    const config = await readProfileConfig(this.miniPath, profile);
    const status = await this.minikube.status(profile, options.signal);
    if (status.host !== "Running") return this.view(profile, config, status.host, null, [], undefined, options);
    const nodeIp = await this.minikube.ip(profile, options.signal);
    const pods = await this.podCidrs(profile);
    return this.view(profile, config, status.host, nodeIp, pods.cidrs, pods.error ?? pods.refused, options);
  }

  /** The same node, looked at again without minikube: profile config and pod CIDRs from the API. */
  async refresh(previous: ClusterView, options: InspectOptions = {}): Promise<ClusterView> {
    const config = await readProfileConfig(this.miniPath, previous.profile);
    const pods = await this.podCidrs(previous.profile);
    // An API hiccup keeps the pod routes we had rather than dropping them.
    const cidrs =
      pods.error !== undefined ? previous.cidrs.filter((c) => c.kind === "pod").map((c) => c.cidr) : pods.cidrs;
    return this.view(
      previous.profile,
      config,
      previous.host,
      previous.nodeIp,
      cidrs,
      pods.error ?? pods.refused,
      options,
    );
  }

  /**
   * The Nodes' pod ranges. The cluster writes them (any Node object can say
   * anything), so a range wider than a cluster ever gives its nodes is left
   * out and said: 10.0.0.0/8 as a "pod CIDR" would take the office's whole
   * private network to the node.
   */
  private async podCidrs(profile: string): Promise<{ cidrs: Cidr[]; error?: string; refused?: string }> {
    if (!this.podCidrSource) return { cidrs: [] };
    try {
      const all = (await this.podCidrSource.podCidrs(profile)).map((text) => parseCidr(text, { allowHostBits: true }));
      const wide = all.filter((c) => c.prefix < WIDEST_POD_PREFIX[c.family]);
      const cidrs = all.filter((c) => !wide.includes(c));
      if (wide.length === 0) return { cidrs };
      return {
        cidrs,
        refused: `${wide.map((c) => `${c.text} (wider than /${WIDEST_POD_PREFIX[c.family]})`).join(", ")}: more than a cluster gives its nodes; not routed`,
      };
    } catch (error) {
      return { cidrs: [], error: (error as Error).message };
    }
  }

  private view(
    profile: string,
    config: ProfileConfig,
    host: HostState,
    nodeIp: string | null,
    pods: readonly Cidr[],
    podCidrError: string | undefined,
    options: InspectOptions,
  ): ClusterView {
    const serviceCidr = parseCidr(config.serviceCidr);
    const base = {
      profile,
      config,
      host,
      nodeIp,
      serviceCidr,
      // minikube and kubeadm put cluster DNS at the tenth address of the service range.
      clusterDnsIp: addressAt(serviceCidr, 10n),
      ...(podCidrError !== undefined ? { podCidrError } : {}),
    };
    if (nodeIp === null) return { ...base, cidrs: [] };
    const cidrs: RoutedCidr[] = [
      { cidr: serviceCidr, kind: "service" },
      ...pods.map((cidr) => ({ cidr, kind: "pod" as const })),
      ...(options.lbPool ?? []).map((cidr) => ({ cidr, kind: "lb-pool" as const })),
    ];
    // A network inside one already listed is reached through that route; routing it again would conflict with
    // ourselves.
    const unique = cidrs.filter((c, i) => !cidrs.slice(0, i).some((d) => containsCidr(d.cidr, c.cidr)));
    return { ...base, cidrs: unique };
  }
}
