/**
 * The hosts file's managed blocks: ours are between marker comments that name
 * the profile and the process that wrote them, so a block can be replaced,
 * removed, or found stale after a crash, and every other byte of the file is
 * left exactly as it was.
 *
 *     # BEGIN minikube-tunnel profile=minikube pid=4242 started=81234567
 *     127.70.0.1 web.default.svc.cluster.local web.default
 *     # END minikube-tunnel profile=minikube
 */
import type { HostsEntry } from "../root.js";

export interface BlockOwner {
  readonly profile: string;
  readonly pid: number;
  /** Process start time (as in tunnels.json), so a reused pid is not taken for the writer. */
  readonly started: string;
}

const BEGIN = "# BEGIN minikube-tunnel";
const END = "# END minikube-tunnel";
const BEGIN_LINE = /^# BEGIN minikube-tunnel profile=(\S+) pid=(\d+) started=(\S*)\r?$/;

/** A start time as a marker field: macOS's `ps -o lstart` has spaces. */
export function markerStarted(started: string | undefined): string {
  return (started ?? "").replace(/\s+/g, "_");
}

export function renderBlock(owner: BlockOwner, entries: readonly HostsEntry[], eol = "\n"): string {
  const lines = [
    `${BEGIN} profile=${owner.profile} pid=${owner.pid} started=${markerStarted(owner.started)}`,
    ...entries.map((e) => `${e.ip} ${e.names.join(" ")}`),
    `${END} profile=${owner.profile}`,
  ];
  return lines.join(eol) + eol;
}

/** The blocks in a hosts file, with where each starts and ends (character offsets, end exclusive). */
export function blocksIn(text: string): (BlockOwner & { start: number; end: number })[] {
  const found: (BlockOwner & { start: number; end: number })[] = [];
  let offset = 0;
  let open: (BlockOwner & { start: number }) | null = null;
  for (const line of text.split(/(?<=\n)/)) {
    const bare = line.replace(/\n$/, "");
    const begin = BEGIN_LINE.exec(bare);
    if (begin) open = { profile: begin[1]!, pid: Number(begin[2]), started: begin[3]!, start: offset };
    else if (open && bare.replace(/\r$/, "") === `${END} profile=${open.profile}`) {
      found.push({ ...open, end: offset + line.length });
      open = null;
    }
    offset += line.length;
  }
  return found;
}

/** The same writer: blocks are keyed by profile and writer, so one client never takes another's block. */
export function sameOwner(a: BlockOwner, b: BlockOwner): boolean {
  return a.profile === b.profile && a.pid === b.pid && markerStarted(a.started) === markerStarted(b.started);
}

/**
 * The file with this owner's block for the profile replaced (or removed when
 * `entries` is null): in place if it was there, else at the end on a line of
 * its own, in the file's own line endings. `alsoReplace` names other blocks
 * of the profile that may go too (a dead writer's). Nothing else changes,
 * byte for byte.
 */
export function withBlock(
  text: string,
  owner: BlockOwner,
  entries: readonly HostsEntry[] | null,
  alsoReplace: (block: BlockOwner) => boolean = () => false,
): string {
  const existing = blocksIn(text).filter((b) => b.profile === owner.profile && (sameOwner(b, owner) || alsoReplace(b)));
  let out = text;
  for (const b of [...existing].reverse()) out = out.slice(0, b.start) + out.slice(b.end);
  if (entries === null) return out;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const block = renderBlock(owner, entries, eol);
  const at = existing[0]?.start;
  if (at !== undefined) return out.slice(0, at) + block + out.slice(at);
  return out + (out === "" || out.endsWith("\n") ? "" : eol) + block;
}
