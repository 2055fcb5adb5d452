import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** The digest of the packaged helper directory (runtime, helper and CLI bundles, native packages), as the package was built; the app reads it from inside its signed archive. */
export interface HelperDigests {
  readonly tree: string;
}

/**
 * A directory's digest as the stage script computes it with sha256sum: the
 * SHA-256 of one line per file, `<sha256>  <path relative to the
 * directory>`, sorted by path in byte order.
 */
export async function treeDigest(dir: string): Promise<string> {
  const { readdir } = await import("node:fs/promises");
  const { join, relative } = await import("node:path");
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(path);
    }
  };
  await walk(dir);
  const rel = files.map((f) => relative(dir, f)).sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : Buffer.from(a) > Buffer.from(b) ? 1 : 0));
  const lines = await Promise.all(rel.map(async (r) => `${await sha256File(join(dir, r))}  ${r}\n`));
  return createHash("sha256").update(lines.join("")).digest("hex");
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path).on("error", reject).on("data", (c) => hash.update(c)).on("end", () => resolve(hash.digest("hex")));
  });
}

/**
 * What root runs first when the app's own files are not root-owned (a dmg
 * dragged to /Applications, root:admin 0775 and owned by the user; an
 * AppImage the user mounted): copy the helper directory into a fresh
 * directory only root can write, check the copy against the digest the
 * package was built with, and only then run the copy. A file changed before
 * or during the copy fails the check and nothing runs. POSIX sh and
 * coreutils/BSD tools only.
 */
export const STAGE_SCRIPT = [
  "set -eu",
  "umask 022",
  'source=$1 entry=$2 tree_sum=$3 stage=$4',
  "shift 4",
  'mkdir -p "$stage"',
  'chown 0:0 "$stage" && chmod 755 "$stage"',
  // Copies left by earlier sessions go; a helper still running from one keeps its open files.
  'rm -rf "$stage"/helper.*',
  'dir=$(mktemp -d "$stage/helper.XXXXXX")',
  'chmod 755 "$dir"',
  'cp -R "$source" "$dir/app"',
  'sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi | cut -d" " -f1; }',
  // One "<sum>  <relative path>" line per file, sorted bytewise, summed again (treeDigest does the same).
  'tree() { (cd "$1" && find . -type f | sed "s|^\\./||" | LC_ALL=C sort | while IFS= read -r f; do printf "%s  %s\\n" "$(sum "$f")" "$f"; done) | sum; }',
  'if [ "$(tree "$dir/app")" != "$tree_sum" ]; then',
  '  rm -rf "$dir"',
  '  echo "refusing to run the helper as root: its files do not match the digest this package was built with (changed after installation?)" >&2',
  "  exit 3",
  "fi",
  'chown -R 0:0 "$dir/app" && chmod -R go-w "$dir/app"',
  'exec "$dir/app/node" "$dir/app/$entry" "$@"',
].join("\n");

/** `/bin/sh -c STAGE_SCRIPT` with the helper directory, the bundle to run in it, its digest, the stage directory, then the bundle's own arguments. */
export function stagedArgv(helperDir: string, entry: "helper-main.mjs" | "mktunnel.mjs", digests: HelperDigests, stageDir: string, args: readonly string[]): string[] {
  if (!/^[0-9a-f]{64}$/.test(digests.tree)) throw new Error(`"${digests.tree}" is not a SHA-256 digest`);
  return ["/bin/sh", "-c", STAGE_SCRIPT, "mktunnel-stage", helperDir, entry, digests.tree, stageDir, ...args];
}
