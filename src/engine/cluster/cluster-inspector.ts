import { type Cidr, addressAt, containsCidr, parseCidr } from "../../shared/cidr.js";
import type { HostState, MinikubeCli } from "./minikube-cli.js";
import type { PodCidrSource } from "./node-pod-cidrs.js";
import { type ProfileConfig, readProfileConfig } from "./profile-config.js";

export type CidrKind = "service" | "pod" | "lb-pool";

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
}

/** Reads a profile from disk and minikube, and works out what to route (DESIGN §1 step 2). */
export class ClusterInspector {
  constructor(
    private readonly miniPath: string,
    private readonly minikube: MinikubeCli,
    private readonly podCidrSource: PodCidrSource | null,
  ) {}

  async inspect(profile: string, options: InspectOptions = {}): Promise<ClusterView> {
    const config = await readProfileConfig(this.miniPath, profile);
    const status = await this.minikube.status(profile);
    const serviceCidr = parseCidr(config.serviceCidr);
    const base = {
      profile,
      config,
      host: status.host,
      serviceCidr,
      // minikube and kubeadm put cluster DNS at the tenth address of the service range.
      clusterDnsIp: addressAt(serviceCidr, 10n),
    };
    if (status.host !== "Running") return { ...base, nodeIp: null, cidrs: [] };
    const nodeIp = await this.minikube.ip(profile);
    const cidrs: RoutedCidr[] = [{ cidr: serviceCidr, kind: "service" }];
    let podCidrError: string | undefined;
    if (this.podCidrSource) {
      try {
        for (const text of await this.podCidrSource.podCidrs(profile)) cidrs.push({ cidr: parseCidr(text, { allowHostBits: true }), kind: "pod" });
      } catch (error) {
        podCidrError = (error as Error).message;
      }
    }
    for (const cidr of options.lbPool ?? []) cidrs.push({ cidr, kind: "lb-pool" });
    // A network inside one already listed is reached through that route; routing it again would conflict with ourselves.
    const unique = cidrs.filter((c, i) => !cidrs.slice(0, i).some((d) => containsCidr(d.cidr, c.cidr)));
    return { ...base, nodeIp, cidrs: unique, ...(podCidrError !== undefined ? { podCidrError } : {}) };
  }
}
