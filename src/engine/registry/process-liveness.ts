import { readFile } from "node:fs/promises";
import { execFileRunner, type CommandRunner } from "../system/command-runner.js";

/**
 * A process's start time, as an opaque string that changes when the pid is
 * reused: Linux clock ticks since boot from /proc, `ps -o lstart` on macOS.
 * Windows returns null, and liveness then rests on the pid alone.
 */
export async function processStartTime(
  pid: number,
  platform: NodeJS.Platform = process.platform,
  runner: CommandRunner = execFileRunner,
): Promise<string | null> {
  if (platform === "linux") {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      // The command name (field 2) may contain spaces and parentheses, so count from the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return fields[19] ?? null;
    } catch {
      return null;
    }
  }
  if (platform === "darwin") {
    const result = await runner.run("ps", ["-o", "lstart=", "-p", String(pid)]).catch(() => null);
    const text = result?.exitCode === 0 ? result.stdout.trim() : "";
    return text === "" ? null : text;
  }
  return null;
}

/**
 * A process that has exited but whose parent has not collected it yet still
 * answers kill(pid, 0). It runs nothing: a killed daemon whose parent reaps
 * late must not keep its routes "alive". Linux only (/proc); elsewhere false.
 */
async function isZombie(pid: number): Promise<boolean> {
  if (process.platform !== "linux") return false;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state === "Z" || state === "X";
}

function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A tunnel is alive when its pid exists and, if a start time was recorded, it still matches. */
export async function isTunnelProcessAlive(pid: number, recordedStartTime?: string): Promise<boolean> {
  if (!pidExists(pid) || (await isZombie(pid))) return false;
  if (recordedStartTime === undefined) return true;
  const current = await processStartTime(pid);
  return current === null || current === recordedStartTime;
}

export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime?: string;
}

export async function currentProcessIdentity(): Promise<ProcessIdentity> {
  const startTime = await processStartTime(process.pid);
  return startTime === null ? { pid: process.pid } : { pid: process.pid, startTime };
}
