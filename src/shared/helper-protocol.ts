import { z } from "zod";
import { isValidCidr, isValidIp } from "./cidr.js";
import { DNS_DOMAIN, HOST_NAME } from "./dns-names.js";
import { isValidProfileName } from "./profile-name.js";

// Requests and answers between the app or CLI and the privileged helper, one JSON object per line.

/** Large enough for the names of 10,000 Services in one hosts-file request. */
export const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
export const MAX_DECLARED_CIDRS = 64;

const profile = z.string().max(63).refine(isValidProfileName, "invalid profile name");
const ip = z.string().max(45).refine(isValidIp, "not an IP address");
const cidr = z.string().max(49).refine(isValidCidr, "not a CIDR");
const secret = z.string().regex(/^[0-9a-f]{64}$/, "malformed secret");
const domain = z.string().regex(DNS_DOMAIN, "invalid DNS domain");
/** A host name of DNS labels (letters, digits, hyphens), at most 253 characters. */
const hostName = z.string().max(253).regex(HOST_NAME, "invalid host name");
export const MAX_HOSTS_ENTRIES = 10_000;
/** As root's names writer caps them (wildcard-names.ts `MAX_WILDCARDS_PER_PROFILE`). */
export const MAX_WILDCARD_ENTRIES = 256;
/** `*.` and a host name: the pattern of a wildcard Ingress or Gateway host. */
const wildcardPattern = z
  .string()
  .max(253)
  .refine((p) => p.startsWith("*.") && HOST_NAME.test(p.slice(2)), "invalid wildcard pattern");

const base = { id: z.number().int().nonnegative(), secret };

export const helperRequestSchema = z.discriminatedUnion("op", [
  z.strictObject({ ...base, op: z.literal("ping") }),
  /**
   * First on every connection: which registry this client's routes go to
   * (the installed helper serves several), and the client's pid, which its
   * entries and names then carry (a pid the user, and minikube, can signal);
   * answers the helper's version.
   */
  z.strictObject({
    ...base,
    op: z.literal("hello"),
    registry: z.string().max(4096).optional(),
    pid: z
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1),
  }),
  z.strictObject({
    ...base,
    op: z.literal("declare"),
    profile,
    /** null in forward mode: names and loopback addresses only. */
    nodeIp: ip.nullable(),
    cidrs: z.array(cidr).max(MAX_DECLARED_CIDRS),
    clusterDomain: domain,
    clusterDnsIp: z.union([ip, z.literal("")]),
  }),
  /** One batch: the helper locks the registry once and reads the table back once. */
  z.strictObject({
    ...base,
    op: z.literal("add"),
    profile,
    gateway: ip,
    cidrs: z.array(cidr).min(1).max(MAX_DECLARED_CIDRS),
  }),
  z.strictObject({
    ...base,
    op: z.literal("remove"),
    profile,
    gateway: ip,
    cidrs: z.array(cidr).min(1).max(MAX_DECLARED_CIDRS),
  }),
  z.strictObject({ ...base, op: z.literal("cleanup") }),
  /**
   * Forward mode, a port below 1024: listen on address:port and relay to address:targetPort, where the client listens.
   */
  z.strictObject({
    ...base,
    op: z.literal("relay"),
    address: ip,
    port: z.number().int().min(1).max(1023),
    targetPort: z.number().int().min(1024).max(65535),
  }),
  z.strictObject({ ...base, op: z.literal("unrelay"), address: ip, port: z.number().int().min(1).max(1023) }),
  /** Forward mode on macOS: an lo0 alias for a Service's loopback address. */
  z.strictObject({ ...base, op: z.literal("alias"), address: ip, present: z.boolean() }),
  /** Cluster names: the profile's block in the hosts file, under its declared domain (null removes it). */
  z.strictObject({
    ...base,
    op: z.literal("names-hosts"),
    profile,
    entries: z
      .array(
        z.strictObject({
          ip,
          names: z.array(hostName).min(1).max(4),
          /**
           * Whose names: a Service's (`<svc>.<ns>.svc.<domain>`, `<svc>.<ns>`; the default) or an Ingress or Gateway
           * host, which has its own rule (docs/security.md, "The root policy").
           */
          kind: z.enum(["service", "ingress"]).optional(),
        }),
      )
      .max(MAX_HOSTS_ENTRIES)
      .nullable(),
  }),
  /** Cluster names in route mode: the OS resolver sends the domain to the cluster's DNS (null takes it back). */
  z.strictObject({
    ...base,
    op: z.literal("names-dns"),
    profile,
    dns: z.strictObject({ domain, server: ip, gateway: ip }).nullable(),
  }),
  z.strictObject({ ...base, op: z.literal("names-dns-check") }),
  /** Wildcard Ingress and Gateway names, answered by root's DNS responder (null takes the profile's back). */
  z.strictObject({
    ...base,
    op: z.literal("names-wildcards"),
    profile,
    entries: z
      .array(z.strictObject({ pattern: wildcardPattern, ip, reach: z.enum(["one-label", "one-or-more-labels"]) }))
      .max(MAX_WILDCARD_ENTRIES)
      .nullable(),
  }),
]);

export type HelperRequest = z.infer<typeof helperRequestSchema>;
type WithoutAuth<T> = T extends unknown ? Omit<T, "id" | "secret"> : never;
export type HelperCall = WithoutAuth<HelperRequest>;

export type HelperResponse =
  { id: number; ok: true; result: unknown } | { id: number | null; ok: false; error: string };
