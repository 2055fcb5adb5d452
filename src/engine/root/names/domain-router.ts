/**
 * The OS side of root's DNS responder, one per platform (docs/architecture.md, "Ingress and Gateway names",
 * "Wildcards"): what routes the wildcards' domains, and only those, to the responder's address.
 */
export interface DomainRouter {
  /** null where this OS can route a domain to the responder; otherwise the reason shown for every wildcard. */
  unavailable(): Promise<string | null>;
  /** Whether the candidate link or address is someone else's already (another root process, a stale crash's). */
  taken(link: string, address: string): Promise<boolean>;
  /** Before the responder listens: the record cleanup finds, and what the address needs to exist (macOS's alias). */
  claim(link: string, address: string): Promise<void>;
  /** `domains` (and only those) to the responder at `address`; what was done, and the domains it could not route. */
  up(link: string, address: string, domains: readonly string[]): Promise<RouterResult>;
  /** Everything `claim` and `up` set, taken back. */
  down(link: string): Promise<void>;
  /** What a dead root process's responder left, taken back; answers what. */
  removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]>;
}

export interface RouterResult {
  /** For the names status: the responder's address and how the OS sends the domains there. */
  readonly how: string;
  /** Domains the OS side could not route (a resolver file that is not ours), with why. */
  readonly refused?: ReadonlyMap<string, string>;
}
