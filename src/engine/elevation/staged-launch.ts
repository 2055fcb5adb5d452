import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join, relative } from "node:path";

/**
 * The digest of the packaged helper directory (runtime, helper and CLI bundles, native packages), as the package was
 * built; the app reads it from inside its signed archive.
 */
export interface HelperDigests {
  readonly tree: string;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * A directory's digest as the stage script computes it: the SHA-256 of one
 * line per entry, sorted by path in byte order, `d 755 - <path>` for a
 * directory and `f <755|644> <sha256> <path>` for a file (755 when any
 * execute bit is set). The list of entries and their kinds and modes is
 * part of it, not just file contents, and a link or any other kind of
 * entry is refused: nothing that is not hashed may be run.
 */
export async function treeDigest(dir: string): Promise<string> {
  const entries: { path: string; line: (sum: string) => string; file: boolean }[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const path = join(d, name);
      const rel = relative(dir, path);
      if (rel.includes("\n")) throw new Error(`${path}: a name with a newline cannot be listed`);
      const info = await lstat(path);
      if (info.isDirectory()) {
        entries.push({ path: rel, file: false, line: () => `d 755 - ${rel}\n` });
        await walk(path);
      } else if (info.isFile()) {
        const mode = (info.mode & 0o111) !== 0 ? "755" : "644";
        entries.push({ path: rel, file: true, line: (sum) => `f ${mode} ${sum} ${rel}\n` });
      } else
        throw new Error(
          `${path} is a link or special file: the helper's directory may hold regular files and directories only`,
        );
    }
  };
  await walk(dir);
  entries.sort((a, b) => byteOrder(a.path, b.path));
  const lines = await Promise.all(entries.map(async (e) => e.line(e.file ? await sha256File(join(dir, e.path)) : "-")));
  return createHash("sha256").update(lines.join("")).digest("hex");
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("error", reject)
      .on("data", (c) => hash.update(c))
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/**
 * What root runs first when the app's own files are not root-owned (a dmg
 * dragged to /Applications, root:admin 0775 and owned by the user; an
 * AppImage the user mounted): copy the helper directory into a fresh
 * directory only root can enter (0700, under umask 077) without following
 * any link, refuse the copy if it holds anything but regular files and
 * directories, check it against the digest the package was built with
 * (entries, kinds, modes and contents), then set the modes it was checked
 * with (0755 directories and executables, 0644 the rest), open it to others
 * and only then run the copy. The copy drops group and other bits, so a file
 * executable by group or others alone would hash as 644 and be refused.
 * Everything is judged on the copy, which only root can change, so a file
 * or link changed during the copy fails the check and nothing runs. POSIX sh
 * and coreutils/BSD tools only.
 */
export const STAGE_SCRIPT = [
  "set -eu",
  "umask 022",
  "source=$1 entry=$2 tree_sum=$3 stage=$4",
  "shift 4",
  'refuse() { rm -rf "$dir"; echo "refusing to run the helper as root: $1" >&2; exit 3; }',
  'case "$entry" in helper-main.mjs|mktunnel.mjs) ;; *) echo "refusing to run the helper as root: unknown entry $entry" >&2; exit 2 ;; esac',
  'mkdir -p "$stage"',
  'chown 0:0 "$stage" && chmod 755 "$stage"',
  // Copies left by earlier sessions go; a helper still running from one keeps its open files.
  'rm -rf "$stage"/helper.*',
  // Until the digest matches, the copy is root's alone (mktemp -d makes it 0700): no other user opens,
  // maps or runs a file of it, nor holds a descriptor into it, before it is known to be the package's.
  "umask 077",
  'dir=$(mktemp -d "$stage/helper.XXXXXX")',
  // -P: a link is copied as a link, never followed; the check below then refuses it.
  'cp -RP "$source" "$dir/app"',
  '[ -d "$dir/app" ] && [ ! -L "$dir/app" ] || refuse "$source is not a directory (a link to one is not followed)"',
  'nl=$(printf "\\nx"); nl=${nl%x}',
  '[ -z "$(find "$dir/app" ! -type f ! -type d -print | head -n 1)" ] || refuse "its directory holds a link or a special file"',
  '[ -z "$(find "$dir/app" -name "*$nl*" -print | head -n 1)" ] || refuse "its directory holds a name with a newline"',
  'sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi | cut -d" " -f1; }',
  // One line per entry, sorted bytewise, summed again (treeDigest does the same); as root, -x means any execute bit.
  'tree() { (cd "$1" && find . -mindepth 1 | sed "s|^\\./||" | LC_ALL=C sort | while IFS= read -r p; do if [ -d "$p" ]; then printf "d 755 - %s\\n" "$p"; elif [ -x "$p" ]; then printf "f 755 %s %s\\n" "$(sum "$p")" "$p"; else printf "f 644 %s %s\\n" "$(sum "$p")" "$p"; fi; done) | sum; }',
  '[ "$(tree "$dir/app")" = "$tree_sum" ] || refuse "its files do not match the digest this package was built with (changed after installation?)"',
  'chown -R 0:0 "$dir/app"',
  '(cd "$dir/app" && find . -mindepth 1 | while IFS= read -r p; do if [ -d "$p" ] || [ -x "$p" ]; then chmod 755 "$p"; else chmod 644 "$p"; fi; done)',
  // Checked: now the modes the digest lines name, and the helper's own umask (its runtime directory and socket must
  // stay reachable).
  'chmod 755 "$dir" "$dir/app"',
  "umask 022",
  'exec "$dir/app/node" "$dir/app/$entry" "$@"',
].join("\n");

/**
 * `/bin/sh -c STAGE_SCRIPT` with the helper directory, the bundle to run in it, its digest, the stage directory, then
 * the bundle's own arguments.
 */
export function stagedArgv(
  helperDir: string,
  entry: "helper-main.mjs" | "mktunnel.mjs",
  digests: HelperDigests,
  stageDir: string,
  args: readonly string[],
): string[] {
  if (!/^[0-9a-f]{64}$/.test(digests.tree)) throw new Error(`"${digests.tree}" is not a SHA-256 digest`);
  return ["/bin/sh", "-c", STAGE_SCRIPT, "mktunnel-stage", helperDir, entry, digests.tree, stageDir, ...args];
}
