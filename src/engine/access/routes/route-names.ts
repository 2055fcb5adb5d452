import { createHash } from "node:crypto";
import { type Cidr, addressAt } from "../../../shared/cidr.js";
import type { ServiceName } from "../cluster-access.js";
import type { ProfileNames } from "../names/profile-names.js";

/**
 * What the hosts-file way writes, in a few bytes: a Service can gain an address (ExternalName → ClusterIP) while the
 * count stays.
 */
function servicesKey(services: readonly ServiceName[]): string {
  const lines = services.map((s) => `${s.namespace}/${s.name}=${s.clusterIPs[0] ?? ""}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("base64");
}

/**
 * Route mode's names (docs/architecture.md, "Names"): the cluster's DNS
 * (kube-dns's ClusterIP as the watch knows it, else the tenth address of the
 * service CIDR) for the cluster's domain, through the link to the node; the
 * hosts file with ClusterIPs where the OS resolver cannot be used. Set again
 * only when the server, the node or (for the hosts file) the Services change.
 */
export class RouteNames {
  services: readonly ServiceName[] = [];
  private key = "";

  constructor(private readonly names: ProfileNames) {}

  follow(gateway: string, serviceCidr: Cidr): void {
    const dns = this.services.find((s) => s.namespace === "kube-system" && s.name === "kube-dns")?.clusterIPs[0];
    const server = dns ?? addressAt(serviceCidr, 10n);
    const usesHosts = this.names.status().how?.startsWith("hosts file") === true;
    const key = `${server}|${gateway}|${usesHosts ? servicesKey(this.services) : ""}`;
    if (key === this.key) return;
    this.key = key;
    void this.names.routed({ server, gateway }, () => this.services, `kubernetes.default.svc.${this.names.domain}`);
  }

  /** The routes went (the node stopped or moved): the next time they are in, set the names again. */
  forget(): void {
    this.key = "";
  }
}
