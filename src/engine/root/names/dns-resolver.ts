/** Route mode's names: the cluster's DNS server for the cluster's domain, on this machine's resolver. */
export interface ClusterDns {
  readonly profile: string;
  readonly domain: string;
  /** kube-dns's ClusterIP, reachable through the routes. */
  readonly server: string;
  /** The node: the Linux resolver binds queries to the link the route to it leaves by. */
  readonly gateway: string;
}

/** One per OS (docs/architecture.md, "Names"): systemd-resolved, /etc/resolver files, or NRPT rules. */
export interface DnsResolver {
  readonly kind: string;
  /** null when it can be used here; otherwise why not, in one sentence. */
  unavailable(): Promise<string | null>;
  /** Sets the profile's domain to go to its server; answers what was done, for the log. */
  apply(dns: ClusterDns): Promise<string>;
  /** Takes back what `apply` set for the profile, and only that. */
  remove(profile: string): Promise<void>;
  /** Settings of ours whose writer is gone: taken back; answers what. */
  removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]>;
}

/** Who set a name setting: this process (the helper, or mktunnel as root), so a crash leaves something cleanup can judge. */
export interface NamesOwner {
  readonly pid: number;
  readonly started: string;
}
