import { readFile } from "node:fs/promises";
import ipaddr from "ipaddr.js";

/** `0100007F:0050` (little-endian IPv4 in /proc/net/tcp) or the 32-digit IPv6 form, as address and port. */
function decode(field: string): { address: string; port: number } | null {
  const [hex, portHex] = field.split(":");
  if (!hex || !portHex) return null;
  const words = hex.match(/.{8}/g) ?? [];
  // Each 32-bit word is in host byte order (little-endian on the machines we run on).
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length !== 4 && bytes.length !== 16) return null;
  return { address: ipaddr.fromByteArray(bytes).toString(), port: parseInt(portHex, 16) };
}

const LISTEN = "0A";

/**
 * The uids of the sockets listening on `address:port` (or on a wildcard
 * address for that port), read from /proc/net/tcp and tcp6 (proc(5)). Root's
 * relay hands a connection only to a listener of the session's user, so
 * another local user who took the port while the user's listener was down
 * never receives root's relayed traffic.
 */
export async function listenerUids(address: string, port: number, procNet = "/proc/net"): Promise<number[]> {
  const uids: number[] = [];
  for (const file of ["tcp", "tcp6"]) {
    const text = await readFile(`${procNet}/${file}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 8 || cols[3] !== LISTEN) continue;
      const local = decode(cols[1]!);
      if (!local || local.port !== port) continue;
      const wildcard = local.address === "0.0.0.0" || local.address === "::";
      if (wildcard || local.address === address || local.address === `::ffff:${address}`) uids.push(Number(cols[7]));
    }
  }
  return uids;
}

/** Whether every listener on the relay's target belongs to `uid`, and there is one. */
export async function listenerOwnedBy(address: string, port: number, uid: number, procNet?: string): Promise<boolean> {
  const uids = await listenerUids(address, port, procNet);
  return uids.length > 0 && uids.every((u) => u === uid);
}
