/**
 * Forward mode's loopback range (docs/architecture.md, "Forward mode"): each
 * profile takes a /16 of it, each LoadBalancer Service an address. Below
 * 127.64 stay the addresses other software uses (127.0.0.1, 127.0.0.53,
 * 127.0.1.1); root opens relays and aliases only inside it.
 */
export const FORWARD_RANGE = "127.64.0.0/10";
