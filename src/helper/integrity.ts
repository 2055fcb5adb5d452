import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type WindowsSecurity, windowsSecurity } from "../engine/elevation/acl-windows.js";
import { notRootOwned } from "../engine/elevation/sddl-windows.js";

/**
 * Code that runs as root must not be changeable by an unprivileged user, or
 * elevating it hands root to whoever can write it. Every file and directory
 * from the runtime and the helper script up to the root must be owned by root
 * and not writable by group or others, wherever it lives: a `.git` above a
 * user's files says nothing about who can change them (docs/security.md,
 * "What runs as root").
 */
export function writablePaths(paths: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const start of paths) {
    let current = resolve(start);
    for (;;) {
      if (!seen.has(current)) {
        seen.add(current);
        const info = statSync(current);
        const stickyDir = info.isDirectory() && (info.mode & 0o1000) !== 0;
        if (info.uid !== 0) problems.push(`${current} is owned by uid ${info.uid}`);
        else if ((info.mode & 0o022) !== 0 && !stickyDir) problems.push(`${current} is writable by group or others`);
      }
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  return problems;
}

/**
 * The same question on Windows, where uid and mode mean nothing: each file and
 * the folder it is in must be owned by SYSTEM, Administrators or
 * TrustedInstaller and changeable by nobody else (sddl-windows.ts,
 * notRootOwned). The folder counts because Windows loads a program's DLLs
 * from beside it. Above that folder the system's own ACLs (Program Files)
 * stand: there a user may at most add a folder of their own (C:\), which
 * moves nothing of ours.
 */
export function writableOnWindows(
  paths: readonly string[],
  windows: () => WindowsSecurity = windowsSecurity,
): string[] {
  const security = windows();
  const self = security.processUserSid();
  const problems: string[] = [];
  for (const path of new Set(paths.flatMap((p) => [resolve(p), dirname(resolve(p))]))) {
    const problem = notRootOwned(security.describe(path), self);
    if (problem) problems.push(`${path}: ${problem}`);
  }
  return problems;
}
