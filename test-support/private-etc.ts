import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let copy: string | null = null;

/**
 * This test process's own copy of /etc. Commands started through `inPrivateEtc`
 * see it in place of /etc (a bind mount in a private mount namespace), so the
 * cluster names a tunnel writes to /etc/hosts never reach this machine's.
 * Removed when the process exits.
 */
export function privateEtc(): string {
  if (copy) return copy;
  const dir = mkdtempSync(join(tmpdir(), "mkt-etc-"));
  execFileSync("cp", ["-a", "/etc/.", dir]);
  copy = dir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** argv that runs `file args` with the private /etc; every step execs the next, so the pid is the program's. */
export function inPrivateEtc(file: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [file, [...args]];
  const etc = privateEtc();
  // Users come and go during a run (the helper tests make their own): the copy gets today's account files.
  for (const name of ["passwd", "group", "shadow"]) copyFileSync(`/etc/${name}`, join(etc, name));
  return ["unshare", ["-m", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc && exec "$@"', etc, file, ...args]];
}
