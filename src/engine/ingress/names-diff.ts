import type { HostEntry, IngressNames, NamesDiff, UnmappedName } from "./name-types.js";

function entryKey(e: HostEntry): string {
  return `${e.source}|${e.object}|${e.host}`;
}

function sameEntry(a: HostEntry, b: HostEntry): boolean {
  return (
    a.wildcard === b.wildcard &&
    a.address.kind === b.address.kind &&
    a.address.ip === b.address.ip &&
    a.address.service === b.address.service &&
    JSON.stringify(a.address.ports) === JSON.stringify(b.address.ports) &&
    JSON.stringify(a.via ?? []) === JSON.stringify(b.via ?? [])
  );
}

/** What changed between two states of one profile's names. */
export function diffNames(before: IngressNames, after: IngressNames): NamesDiff {
  const old = new Map(before.entries.map((e) => [entryKey(e), e]));
  const now = new Map(after.entries.map((e) => [entryKey(e), e]));
  const added: HostEntry[] = [];
  const changed: { before: HostEntry; after: HostEntry }[] = [];
  for (const [key, entry] of now) {
    const was = old.get(key);
    if (!was) added.push(entry);
    else if (!sameEntry(was, entry)) changed.push({ before: was, after: entry });
  }
  const removed = [...old].filter(([key]) => !now.has(key)).map(([, entry]) => entry);
  return { added, removed, changed };
}

function unmappedKey(u: UnmappedName): string {
  return `${u.source}|${u.object}|${u.host}|${u.reason}`;
}

export function unmappedChanged(before: IngressNames, after: IngressNames): boolean {
  if (before.unmapped.length !== after.unmapped.length) return true;
  const old = new Set(before.unmapped.map(unmappedKey));
  return after.unmapped.some((u) => !old.has(unmappedKey(u)));
}

export function isEmptyDiff(diff: NamesDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}
