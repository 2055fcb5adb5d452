import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let copy: string | null = null;

/**
 * This test process's own copy of /etc. Commands started through `inPrivateEtc`
 * see it in place of /etc (a bind mount in a private mount namespace), so the
 * cluster names a tunnel writes to /etc/hosts never reach this machine's.
 * Removed when the process exits, or with the test file's temporary folder
 * (file-setup.ts) when the process is killed first.
 */
export function privateEtc(): string {
  if (copy) return copy;
  const dir = mkdtempSync(join(tmpdir(), "mkt-etc-"));
  // useradd and userdel (other test files, in parallel) make and remove lock files in /etc while it is copied:
  // a file that went between listing and copying fails the copy, and the next try does not meet the same one.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync("cp", ["-a", "/etc/.", dir], { stdio: ["ignore", "ignore", "pipe"] });
      break;
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
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
  return [
    "unshare",
    ["-m", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc && exec "$@"', etc, file, ...args],
  ];
}
