import { z } from "zod";
import {
  type Cidr,
  cidrFromAddressAndPrefix,
  ipFamily,
  isValidIp,
  maskBytesToPrefix,
  normaliseIp,
  prefixToMaskBytes,
} from "./cidr.js";

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

function base64ToBytes(base64: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(base64);
  } catch {
    throw new Error(`mask "${base64}" is not base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * A Go net.IPMask, base64 as encoding/json writes it. Go may pair an IPv4
 * address with a 16-byte mask (96 leading ones, then the IPv4 mask); like
 * Go's own IPNet, that reads as the IPv4 prefix.
 */
export function decodeMask(base64: string, family: 4 | 6 = 4): number {
  let bytes = base64ToBytes(base64);
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new Error(`mask "${base64}" decodes to ${bytes.length} bytes, expected 4 or 16`);
  }
  if (family === 4 && bytes.length === 16) {
    if (!bytes.subarray(0, 12).every((b) => b === 0xff))
      throw new Error(`mask "${base64}" is 16 bytes but not an IPv4 mask in IPv6 form`);
    bytes = bytes.subarray(12);
  }
  if (family === 6 && bytes.length === 4) throw new Error(`mask "${base64}" is an IPv4 mask on an IPv6 address`);
  return maskBytesToPrefix(bytes);
}

export function encodeMask(cidr: Cidr): string {
  return btoa(String.fromCharCode(...prefixToMaskBytes(cidr.family, cidr.prefix)));
}

export function entryFromJson(json: TunnelEntryJson): TunnelEntry {
  if (!isValidIp(json.Route.DestCIDR.IP))
    throw new Error(`DestCIDR.IP "${json.Route.DestCIDR.IP}" is not an IP address`);
  const prefix = decodeMask(json.Route.DestCIDR.Mask, ipFamily(json.Route.DestCIDR.IP));
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
export function sameRoute(
  a: { destination: Cidr; gateway: string },
  b: { destination: Cidr; gateway: string },
): boolean {
  return a.destination.text === b.destination.text && normaliseIp(a.gateway) === normaliseIp(b.gateway);
}
