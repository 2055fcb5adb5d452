import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundles } from "./bundles.js";
import { labUnavailableReason, sweepStaleLabs } from "./netns-lab.js";
import {
  type ProcessInfo,
  RUN_DIR_VARIABLE,
  RUN_ID_VARIABLE,
  processTable,
  selfAndAncestors,
  stopProcesses,
} from "./processes.js";

const CHECKOUT = join(import.meta.dirname, "..");
/** What a process started from the checkout or from a test's temporary folders looks like, whoever started it. */
const LOOKS_LIKE_A_TEST_PROCESS = [CHECKOUT, "/tmp/mkt-", "mkt-portable-", "mkt-prefix-"];
/** Folders a test process makes and, when killed, leaves: this run makes them in its own folder, others in /tmp. */
const STRAY_FOLDERS = /^mkt-(etc|ssh)-/;

interface Run {
  readonly id: string;
  readonly dir: string;
  readonly systemTmp: string;
  readonly startedAt: number;
  readonly startedTicks: number;
}

/**
 * Every process and folder of this run carries its mark: the run's id in the
 * environment (children inherit it) and a temporary folder of its own, which
 * TMPDIR names, so `mkdtemp(tmpdir())` anywhere in a test, in the product's
 * code it runs or in the processes it starts lands in it (each test file gets
 * a folder of its own in it: file-setup.ts).
 */
function beginRun(): Run {
  const systemTmp = tmpdir();
  const dir = mkdtempSync(join(systemTmp, "mkt-testrun-"));
  // Like /tmp: the tests' users (made for the helper tests) make their own folders in it.
  chmodSync(dir, 0o1777);
  const id = randomBytes(6).toString("hex");
  process.env[RUN_ID_VARIABLE] = id;
  process.env[RUN_DIR_VARIABLE] = dir;
  process.env.TMPDIR = dir;
  return { id, dir, systemTmp, startedAt: Date.now(), startedTicks: ticksNow() };
}

/** Now, in the clock ticks after boot that /proc/<pid>/stat gives a process's start in (USER_HZ is 100 on Linux). */
function ticksNow(): number {
  if (process.platform !== "linux") return 0;
  return Math.floor(Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100);
}

function describe(p: ProcessInfo): string {
  return `  ${p.pid} (parent ${p.ppid}) ${p.command.length > 300 ? `${p.command.slice(0, 300)}…` : p.command}`;
}

/** A folder some live process still uses: its command line, working directory or a mount names it. */
function inUse(path: string, table: readonly ProcessInfo[]): boolean {
  for (const p of table) {
    if (p.command.includes(path)) return true;
    try {
      if (readlinkSync(`/proc/${p.pid}/cwd`).startsWith(path)) return true;
    } catch {
      // gone, or not ours to read
    }
  }
  const mounts = readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(` ${path}`);
      } catch {
        return false;
      }
    });
  return mounts;
}

/**
 * The end of the run: nothing it started may still run. What does is
 * printed, killed (so the machine is left clean) and fails the run. Then
 * the run's folder goes, with the private /etc copies and the SSH folders of
 * processes that were killed before they could remove them.
 */
async function endRun(run: Run): Promise<void> {
  const table = processTable();
  // Vitest's own workers and its esbuild service are children of this process, and end with it.
  const vitestItself = new Set([
    ...selfAndAncestors(table),
    ...table.filter((p) => p.ppid === process.pid).map((p) => p.pid),
  ]);
  const ours = (p: ProcessInfo) =>
    !vitestItself.has(p.pid) && (p.environment().get(RUN_ID_VARIABLE) === run.id || p.command.includes(run.dir));
  const stopped = await stopProcesses(ours);

  // Started during the run, looking like a test's, without this run's mark: another run's (tests running beside this
  // one). Left alone.
  const tooling = (p: ProcessInfo) => / --service=\S+ --ping$/.test(p.command); // esbuild's service, vite's or tsx's: it ends with its parent
  const others = processTable().filter(
    (p) =>
      !vitestItself.has(p.pid) &&
      !tooling(p) &&
      p.startTicks >= run.startedTicks &&
      LOOKS_LIKE_A_TEST_PROCESS.some((s) => p.command.includes(s)) &&
      !ours(p),
  );
  if (others.length > 0)
    console.log(
      `[run] ${others.length} process(es) started during this run look like tests' but are not this run's (another run?); left alone:\n${others.map(describe).join("\n")}`,
    );

  try {
    rmSync(run.dir, { recursive: true, force: true });
  } catch (error) {
    console.log(`[run] could not remove ${run.dir}: ${(error as Error).message}`);
  }
  // Every folder of this run was in run.dir. Such folders made meanwhile in the system's temporary folder
  // come from elsewhere (another run, a script): named, not removed, since nothing says they are this run's.
  const now = processTable();
  const strays = (process.platform === "linux" ? readdirSync(run.systemTmp) : [])
    .filter((name) => STRAY_FOLDERS.test(name))
    .map((name) => join(run.systemTmp, name))
    .filter((path) => {
      try {
        return statSync(path).birthtimeMs >= run.startedAt && !inUse(path, now);
      } catch {
        return false;
      }
    });
  if (strays.length > 0)
    console.log(
      `[run] ${strays.length} folder(s) like a test's appeared in ${run.systemTmp} during this run, outside its folder (another run's?); left alone: ${strays.join(" ")}`,
    );

  if (stopped.length > 0) {
    throw new Error(
      `${stopped.length} process(es) this run started were still running at its end (killed now); a test must stop what it starts, even when it fails:\n${stopped.map(describe).join("\n")}`,
    );
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const run = beginRun();
  await buildBundles();
  const reason = labUnavailableReason();
  if (reason) console.log(`[lab] integration tests will be skipped: ${reason}`);
  else {
    const swept = await sweepStaleLabs();
    if (swept.length > 0) console.log(`[lab] removed ${swept.length} namespace(s) left by earlier runs`);
  }
  return () => endRun(run);
}
