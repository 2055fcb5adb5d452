/** One SSH host public key: its algorithm name and the raw key blob. */
export interface HostKey {
  readonly algorithm: string;
  readonly blob: Buffer;
}

const KEY_TYPES = /^(ssh-rsa|ssh-ed25519|ssh-dss|ecdsa-sha2-nistp(256|384|521))$/;

/**
 * Reads host keys from `ssh-keyscan` / known_hosts lines
 * (`[127.0.0.1]:32772 ssh-rsa AAAA…`) and from `.pub` files
 * (`ssh-rsa AAAA… root@minikube`). Comments, blank lines and anything that is
 * not a key are skipped.
 */
export function parseHostKeys(text: string): HostKey[] {
  const keys: HostKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const at = fields.findIndex((f) => KEY_TYPES.test(f));
    if (at === -1 || !fields[at + 1]) continue;
    const blob = Buffer.from(fields[at + 1]!, "base64");
    // The blob starts with its own algorithm name; a line whose two disagree is not a key.
    if (blob.length < 4 || blob.subarray(4, 4 + blob.readUInt32BE(0)).toString() !== fields[at]) continue;
    if (!keys.some((k) => k.blob.equals(blob))) keys.push({ algorithm: fields[at]!, blob });
  }
  return keys;
}

/** The host key algorithms to offer, so the node presents a key we pinned (an RSA key signs with rsa-sha2-*). */
export function hostKeyAlgorithms(keys: readonly HostKey[]): string[] {
  const names = new Set<string>();
  for (const { algorithm } of keys) {
    if (algorithm === "ssh-rsa") for (const a of ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]) names.add(a);
    else names.add(algorithm);
  }
  return [...names];
}

export function isPinned(keys: readonly HostKey[], presented: Buffer): boolean {
  return keys.some((k) => k.blob.equals(presented));
}

/** The same keys, in any order. */
export function samePins(a: readonly HostKey[], b: readonly HostKey[]): boolean {
  return a.length === b.length && a.every((k) => isPinned(b, k.blob));
}
