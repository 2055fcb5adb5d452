import { z } from "zod";
import { isValidCidr } from "../../../shared/cidr.js";
import { DNS_DOMAIN } from "../../../shared/dns-names.js";

const domain = z.string().regex(DNS_DOMAIN, "invalid DNS domain");

/**
 * What an administrator allowed beyond the fixed rules, at install time, in
 * the root-owned helper record (never from a user's file): routes to networks
 * outside the private ranges, and names under domains of the public DNS
 * (a company's `k8s.example.com`). Empty by default.
 */
export const allowancesSchema = z.strictObject({
  cidrs: z.array(z.string().refine(isValidCidr, "not a CIDR")).max(64).default([]),
  domains: z.array(domain).max(64).default([]),
});

export type Allowances = z.infer<typeof allowancesSchema>;

export const NO_ALLOWANCES: Allowances = { cidrs: [], domains: [] };
