import { chmodSync, mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll } from "vitest";
import { eventually } from "./eventually.js";
import {
  type ProcessInfo,
  RUN_DIR_VARIABLE,
  RUN_ID_VARIABLE,
  processTable,
  selfAndAncestors,
  stopProcesses,
} from "./processes.js";

/**
 * Runs in each test file's worker before the file (vitest `setupFiles`).
 * The file gets a temporary folder of its own inside the run's (TMPDIR, so
 * every mkdtemp of the file, of the product code it runs and of the processes
 * it starts lands there), and after its last hook the file is checked: a
 * process it started that still runs, daemonized or not, is killed and fails
 * the file by name. Its folder is removed then, with what killed processes
 * could not remove themselves (a private /etc copy, an SSH client's folder).
 */
const runId = process.env[RUN_ID_VARIABLE];
const runDir = process.env[RUN_DIR_VARIABLE];
const worker = process.env.VITEST_WORKER_ID;

if (runId && runDir && worker && process.platform === "linux") {
  const fileDir = mkdtempSync(join(runDir, `w${worker}-`));
  chmodSync(fileDir, 0o1777);
  process.env.TMPDIR = fileDir;

  const startedByThisFile = (p: ProcessInfo) => {
    const env = p.environment();
    return (
      (env.get(RUN_ID_VARIABLE) === runId && env.get("VITEST_WORKER_ID") === worker) || p.command.includes(fileDir)
    );
  };

  afterAll(async () => {
    const spared = selfAndAncestors();
    const left = () => processTable().filter((p) => !spared.has(p.pid) && startedByThisFile(p));
    // A process the file has just signalled (kill() without waiting) may still be on its way out.
    await eventually(() => left().length === 0, { timeoutMs: 3000, what: "the file's processes to end" }).catch(
      () => undefined,
    );
    const stopped = await stopProcesses((p) => !spared.has(p.pid) && startedByThisFile(p));
    await rm(fileDir, { recursive: true, force: true }).catch((error: Error) =>
      console.log(`[run] could not remove ${fileDir}: ${error.message}`),
    );
    if (stopped.length > 0) {
      throw new Error(
        `this file left ${stopped.length} process(es) running (killed now); a test must stop what it starts, even when it fails:\n${stopped.map((p) => `  ${p.pid} ${p.command.slice(0, 300)}`).join("\n")}`,
      );
    }
  }, 30_000);
}
