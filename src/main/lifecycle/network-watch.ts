import { networkInterfaces } from "node:os";

/** A fingerprint of the host's addresses: it changes when a network comes, goes or moves. */
export function networkSignature(interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string {
  return Object.entries(interfaces)
    .flatMap(([name, addresses]) =>
      (addresses ?? []).filter((a) => !a.internal).map((a) => `${name}=${a.address}/${a.netmask}`),
    )
    .sort()
    .join(",");
}

/**
 * Electron's main process has no "network changed" event, so compare the
 * address fingerprint every few seconds; a change re-checks the routes.
 */
export function watchNetworkChanges(
  onChange: () => void,
  intervalMs = 5000,
  read: () => string = networkSignature,
): () => void {
  let last = read();
  const timer = setInterval(() => {
    const now = read();
    if (now !== last) {
      last = now;
      onChange();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
