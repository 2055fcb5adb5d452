import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** SHA-256 of the helper's runtime and script as the package was built; the app reads them from inside its signed archive. */
export interface HelperDigests {
  readonly runtime: string;
  readonly script: string;
  /** The native packages beside the script (node_modules: koffi for flock), as `treeDigest` computes it. */
  readonly modules: string;
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
 * AppImage the user mounted): copy the runtime and the script into a fresh
 * directory only root can write, check each copy against the digest the
 * package was built with, and only then run the copies. A file changed
 * before or during the copy fails the check and nothing runs. POSIX sh and
 * coreutils/BSD tools only.
 */
export const STAGE_SCRIPT = [
  "set -eu",
  "umask 022",
  'runtime=$1 script=$2 modules=$3 runtime_sum=$4 script_sum=$5 modules_sum=$6 stage=$7',
  "shift 7",
  'mkdir -p "$stage"',
  'chown 0:0 "$stage" && chmod 755 "$stage"',
  // Copies left by earlier sessions go; a helper still running from one keeps its open files.
  'rm -rf "$stage"/helper.*',
  'dir=$(mktemp -d "$stage/helper.XXXXXX")',
  'chmod 755 "$dir"',
  'cp "$runtime" "$dir/node"',
  'cp "$script" "$dir/helper-main.mjs"',
  'cp -R "$modules" "$dir/node_modules"',
  'sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi | cut -d" " -f1; }',
  // The tree: one "<sum>  <relative path>" line per file, sorted bytewise, summed again (treeDigest does the same).
  'tree() { (cd "$1" && find . -type f | sed "s|^\\./||" | LC_ALL=C sort | while IFS= read -r f; do printf "%s  %s\\n" "$(sum "$f")" "$f"; done) | sum; }',
  'if [ "$(sum "$dir/node")" != "$runtime_sum" ] || [ "$(sum "$dir/helper-main.mjs")" != "$script_sum" ] || [ "$(tree "$dir/node_modules")" != "$modules_sum" ]; then',
  '  rm -rf "$dir"',
  '  echo "refusing to run the helper as root: its files do not match the digests this package was built with (changed after installation?)" >&2',
  "  exit 3",
  "fi",
  'chmod 755 "$dir/node" && chmod 644 "$dir/helper-main.mjs" && chmod -R go-w "$dir/node_modules"',
  'exec "$dir/node" "$dir/helper-main.mjs" "$@"',
].join("\n");

/** `/bin/sh -c STAGE_SCRIPT` with the files, their digests, the stage directory, then the helper's own arguments. */
export function stagedArgv(runtime: string, script: string, modules: string, digests: HelperDigests, stageDir: string, helperArgs: readonly string[]): string[] {
  for (const sum of [digests.runtime, digests.script, digests.modules]) if (!/^[0-9a-f]{64}$/.test(sum)) throw new Error(`"${sum}" is not a SHA-256 digest`);
  return ["/bin/sh", "-c", STAGE_SCRIPT, "mktunnel-stage", runtime, script, modules, digests.runtime, digests.script, digests.modules, stageDir, ...helperArgs];
}
