import type { ClusterDns } from "../root.js";

/** A profile's cluster DNS, as the OS resolver keeps it. */
export interface ProfileDns extends ClusterDns {
  readonly profile: string;
}

/** One per OS (docs/architecture.md, "Names"): systemd-resolved, /etc/resolver files, or NRPT rules. */
export interface DnsResolver {
  readonly kind: string;
  /** null when it can be used here; otherwise why not, in one sentence. */
  unavailable(): Promise<string | null>;
  /** Sets the profile's domain to go to its server; answers what was done, for the log. */
  apply(dns: ProfileDns): Promise<string>;
  /** Takes back what `apply` set for the profile, and only that. */
  remove(profile: string): Promise<void>;
  /** Settings of ours whose writer is gone: taken back; answers what. */
  removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]>;
}

/**
 * Who a name setting belongs to: the process whose life it follows (the helper's client, or our registry pid), so a
 * crash leaves something cleanup can judge.
 */
export interface NamesOwner {
  readonly pid: number;
  readonly started: string;
}
