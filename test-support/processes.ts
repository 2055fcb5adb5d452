import { readFileSync, readdirSync } from "node:fs";
import { eventually } from "./eventually.js";

/**
 * The process table as /proc shows it, for tests that must stop what they
 * started even where they hold no handle: a helper that daemonized, a child's
 * child, a daemon started through `ip netns exec` and `unshare`.
 */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** The command line, its words joined by spaces. */
  readonly command: string;
  /** Clock ticks after boot at which it started (field 22 of /proc/<pid>/stat). */
  readonly startTicks: number;
  /** Its environment as it started; empty when it cannot be read (gone, or another user's without root). */
  environment(): ReadonlyMap<string, string>;
}

/** Environment variables every process of a test run inherits (set by global-setup.ts). */
export const RUN_ID_VARIABLE = "MKT_TEST_RUN";
export const RUN_DIR_VARIABLE = "MKT_TEST_RUN_DIR";

function readEnvironment(pid: number): ReadonlyMap<string, string> {
  const env = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const at = entry.indexOf("=");
      if (at > 0) env.set(entry.slice(0, at), entry.slice(at + 1));
    }
  } catch {
    // gone, or not ours to read
  }
  return env;
}

/** Every live process (zombies and kernel threads left out: there is nothing to kill in them). */
export function processTable(): ProcessInfo[] {
  if (process.platform !== "linux") return [];
  const table: ProcessInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const words = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (words.at(-1) === "") words.pop();
      if (words.length === 0) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name in parentheses may itself hold spaces and parentheses: fields start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      let env: ReadonlyMap<string, string> | null = null;
      table.push({
        pid,
        ppid: Number(fields[1]),
        command: words.join(" "),
        startTicks: Number(fields[19]),
        environment: () => (env ??= readEnvironment(pid)),
      });
    } catch {
      // it ended while we looked
    }
  }
  return table;
}

/** This process and the ones it runs under: never candidates for killing. */
export function selfAndAncestors(table: readonly ProcessInfo[] = processTable()): Set<number> {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const chain = new Set<number>();
  for (let pid = process.pid; pid > 0 && !chain.has(pid); pid = byPid.get(pid)?.ppid ?? 0) chain.add(pid);
  return chain;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/**
 * Stops every process `matches` picks (never this one or its ancestors):
 * SIGTERM, so a helper can take its routes back, then SIGKILL for what is
 * still there after `graceMs`. Resolves with what it found, once all of it is gone.
 */
export async function stopProcesses(
  matches: (p: ProcessInfo) => boolean,
  { graceMs = 2000 }: { graceMs?: number } = {},
): Promise<ProcessInfo[]> {
  const table = processTable();
  const spared = selfAndAncestors(table);
  const found = table.filter((p) => !spared.has(p.pid) && matches(p));
  if (found.length === 0) return [];
  for (const p of found) signal(p.pid, "SIGTERM");
  const allGone = () => found.every((p) => !alive(p.pid));
  await eventually(allGone, { timeoutMs: graceMs, what: "the processes to end on SIGTERM" }).catch(() => undefined);
  for (const p of found) if (alive(p.pid)) signal(p.pid, "SIGKILL");
  await eventually(allGone, { timeoutMs: 5000, what: `${found.map((p) => p.pid).join(", ")} to end on SIGKILL` });
  return found;
}

/**
 * A process whose command line names `path` (a file or a folder in it): temporary folders have names of a fixed length,
 * so no one's name is the start of another's.
 */
export function mentions(path: string): (p: ProcessInfo) => boolean {
  return (p) => p.command.includes(path);
}
