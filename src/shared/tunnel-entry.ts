import { z } from "zod";
import { type Cidr, cidrFromAddressAndPrefix, isValidIp, maskBytesToPrefix, normaliseIp, prefixToMaskBytes } from "./cidr.js";

/** Marks entries this project wrote; minikube ignores unknown fields. */
export const OWNER_ID = "minikube-tunnel";

/**
 * One element of MINIPATH/tunnels.json, in the shape minikube's tunnel registry
 * marshals (Go's net.IP as a string, net.IPMask as base64 of its raw bytes).
 * Loose objects keep unknown fields, so rewriting the file never drops data
 * another tool stored there.
 */
export const tunnelEntryJsonSchema = z.looseObject({
  Route: z.looseObject({
    Gateway: z.string(),
    DestCIDR: z.looseObject({ IP: z.string(), Mask: z.string() }),
    ClusterDomain: z.string().nullish(),
    ClusterDNSIP: z.string().nullish(),
  }),
  MachineName: z.string(),
  Pid: z.number().int(),
  Owner: z.string().optional(),
  /** Process start time in an OS-specific unit, so a reused pid is not taken for a live tunnel. */
  PidStartTime: z.string().optional(),
  CreatedAt: z.string().optional(),
});

export type TunnelEntryJson = z.infer<typeof tunnelEntryJsonSchema>;

/** go's json.Marshal of a nil slice is `null`; minikube treats an empty file as empty too. */
export const tunnelsFileSchema = z.union([z.null(), z.array(tunnelEntryJsonSchema)]);

export interface TunnelEntry {
  readonly destination: Cidr;
  readonly gateway: string;
  readonly profile: string;
  readonly pid: number;
  readonly pidStartTime?: string;
  readonly owner?: string;
  readonly clusterDomain: string;
  readonly clusterDnsIp: string;
  readonly createdAt?: string;
  /** The untouched JSON object, so fields we do not model survive a rewrite. */
  readonly json: TunnelEntryJson;
}

export function decodeMask(base64: string): number {
  const bytes = Buffer.from(base64, "base64");
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new Error(`mask "${base64}" decodes to ${bytes.length} bytes, expected 4 or 16`);
  }
  return maskBytesToPrefix(bytes);
}

export function encodeMask(cidr: Cidr): string {
  return Buffer.from(prefixToMaskBytes(cidr.family, cidr.prefix)).toString("base64");
}

export function entryFromJson(json: TunnelEntryJson): TunnelEntry {
  const prefix = decodeMask(json.Route.DestCIDR.Mask);
  if (!isValidIp(json.Route.DestCIDR.IP)) throw new Error(`DestCIDR.IP "${json.Route.DestCIDR.IP}" is not an IP address`);
  if (!isValidIp(json.Route.Gateway)) throw new Error(`Gateway "${json.Route.Gateway}" is not an IP address`);
  const destination = cidrFromAddressAndPrefix(json.Route.DestCIDR.IP, prefix);
  return {
    destination,
    gateway: normaliseIp(json.Route.Gateway),
    profile: json.MachineName,
    pid: json.Pid,
    ...(json.PidStartTime !== undefined ? { pidStartTime: json.PidStartTime } : {}),
    ...(json.Owner !== undefined ? { owner: json.Owner } : {}),
    ...(json.CreatedAt !== undefined ? { createdAt: json.CreatedAt } : {}),
    clusterDomain: json.Route.ClusterDomain ?? "",
    clusterDnsIp: json.Route.ClusterDNSIP ?? "",
    json,
  };
}

export interface NewTunnelEntry {
  destination: Cidr;
  gateway: string;
  profile: string;
  pid: number;
  pidStartTime?: string;
  clusterDomain: string;
  clusterDnsIp: string;
  createdAt: string;
}

export function entryToJson(entry: NewTunnelEntry): TunnelEntryJson {
  return {
    Route: {
      Gateway: entry.gateway,
      DestCIDR: { IP: entry.destination.address, Mask: encodeMask(entry.destination) },
      ClusterDomain: entry.clusterDomain,
      ClusterDNSIP: entry.clusterDnsIp,
    },
    MachineName: entry.profile,
    Pid: entry.pid,
    Owner: OWNER_ID,
    ...(entry.pidStartTime !== undefined ? { PidStartTime: entry.pidStartTime } : {}),
    CreatedAt: entry.createdAt,
  };
}

/** Registry identity of a route: the same destination through the same gateway. */
export function sameRoute(a: { destination: Cidr; gateway: string }, b: { destination: Cidr; gateway: string }): boolean {
  return a.destination.text === b.destination.text && normaliseIp(a.gateway) === normaliseIp(b.gateway);
}
