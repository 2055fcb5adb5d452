/**
 * The marker's profile field on the responder's resolver files (macOS) and NRPT rules (Windows): never a profile's
 * name (those start with a letter or a digit), so a cluster domain's file or rule of a profile and a wildcard domain's
 * are never taken for each other.
 */
export const WILDCARD_MARKER_PROFILE = "_wildcards";

/**
 * Where the responder may listen, and the link named for it: the last address of a /16 of forward mode's range, which
 * neither the LoadBalancer pool (`.0.1`–`.254.255`) nor the ingress addresses (`.255.1`–`.255.254`) ever take; the
 * first free of a few, so a second root process (a root tunnel beside the helper) gets its own.
 */
export const RESPONDER_CANDIDATES = 8;
export const responderCandidate = (i: number) => ({ address: `127.${64 + i}.255.255`, link: `mktdns${i}` });

/**
 * Whether a link and address are one of the candidates together: cleanup deletes a link or removes an lo0 alias by
 * what a record says, and must never be led to another (docs/architecture.md, "Wildcards").
 */
export function isResponderCandidate(link: unknown, address: unknown): boolean {
  const i = typeof link === "string" ? /^mktdns(0|[1-9]\d*)$/.exec(link) : null;
  if (!i || Number(i[1]) >= RESPONDER_CANDIDATES) return false;
  return responderCandidate(Number(i[1])).address === address;
}

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
