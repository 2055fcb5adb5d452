import type { IngressNameStatus } from "../engine/access/cluster-access.js";
import { curlResolveLine } from "../engine/access/names/ingress-names.js";

/**
 * One name as text: `shop.test → 192.168.49.2 (80, 443)`, or why it is not mapped and the `curl --resolve` line that
 * reaches it all the same.
 */
export function nameLine(name: IngressNameStatus & { readonly curl?: string }): string {
  const ports = name.ports.map((p) => (p.state && p.state !== "listening" ? `${p.port} not listening` : `${p.port}`));
  if (name.mapped) return `${name.host} → ${name.address ?? "-"} (${ports.join(", ")})`;
  const curl = name.curl ?? curlResolveLine(name);
  return `${name.host}  not mapped: ${name.reason ?? "unknown"}${curl ? ` — ${curl}` : ""}`;
}

/** A profile's "Ingress" and "Gateway" blocks of `status`, indented under the profile. */
export function nameBlocks(profile: {
  readonly ingresses?: readonly IngressNameStatus[];
  readonly gateways?: readonly IngressNameStatus[];
}): string[] {
  const lines: string[] = [];
  for (const [title, names] of [
    ["Ingress", profile.ingresses ?? []],
    ["Gateway", profile.gateways ?? []],
  ] as const) {
    if (names.length === 0) continue;
    lines.push(`  ${title}`);
    for (const name of names) lines.push(`    ${nameLine(name)}`);
  }
  return lines;
}

/**
 * `mktunnel start` prints each name as it appears or changes, and says when one goes; a snapshot that repeats the
 * names prints nothing. One per profile.
 */
export class NameAnnouncer {
  private shown = new Map<string, string>();

  /** The lines to print for this snapshot's names. */
  update(names: readonly IngressNameStatus[]): string[] {
    const next = new Map<string, string>();
    for (const name of names) next.set(`${name.host} ${name.object}`, nameLine(name));
    const lines: string[] = [];
    for (const [key, line] of next) if (this.shown.get(key) !== line) lines.push(`name ${line}`);
    for (const key of this.shown.keys()) if (!next.has(key)) lines.push(`name ${key.replace(" ", " gone (")})`);
    this.shown = next;
    return lines;
  }
}
