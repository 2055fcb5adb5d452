/**
 * One DNS label as Kubernetes and resolvers take it: lower-case letters, digits and inner hyphens, at most 63
 * characters.
 */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS domain as a cluster's (`cluster.local`): labels and dots, at most 253 characters. */
export const DNS_DOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** A host name of at least two labels, at most 253 characters. */
export const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
