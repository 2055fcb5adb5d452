/**
 * Forward mode gives every LoadBalancer Service its own loopback address, so
 * two Services on port 80 never collide. Each profile takes one /16 of
 * 127.64.0.0–127.127.255.255 (docs/architecture.md, "Forward mode"), picked
 * from its name so a profile keeps its addresses across restarts; profiles of
 * one process that land on the same /16 move to the next free one. Below
 * 127.64 stay the addresses other software uses (127.0.0.1, 127.0.0.53,
 * 127.0.1.1).
 */
import { FORWARD_RANGE } from "../../../shared/forward-range.js";

export { FORWARD_RANGE };
const FIRST = 64;
const COUNT = 64;

/** FNV-1a: stable across runs and platforms, unlike anything seeded. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(text, "utf8")) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

/** The second octet of the profile's /16, skipping those already held by other profiles of this process. */
export function loopbackOctetFor(profile: string, taken: ReadonlySet<number> = new Set()): number {
  const start = hash(profile) % COUNT;
  for (let i = 0; i < COUNT; i++) {
    const octet = FIRST + ((start + i) % COUNT);
    if (!taken.has(octet)) return octet;
  }
  throw new Error(`every forward range is taken (${COUNT} profiles in forward mode at once)`);
}
