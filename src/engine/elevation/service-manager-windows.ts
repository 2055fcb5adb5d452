import type { CommandRunner } from "../system/command-runner.js";
import { DAEMON_NAME } from "./helper-layout.js";

// The helper's Windows service as the Service Control Manager reports it (`sc.exe`), for install (an upgrade removes
// the old service first) and uninstall (helper-installer.ts). Registering and starting it stay with the install.

/** A stop or removal of the service that did not happen, with what sc said. */
export class WindowsServiceError extends Error {}

/** The SCM's states (SERVICE_STATUS.dwCurrentState), as sc prints them after their number. */
const SC_STATES = [
  "STOPPED",
  "START_PENDING",
  "STOP_PENDING",
  "RUNNING",
  "CONTINUE_PENDING",
  "PAUSE_PENDING",
  "PAUSED",
];

/**
 * The service's state from `sc query`: the number before the state's name (1 STOPPED … 4 RUNNING), which sc prints
 * alike in every language (the label before it may be translated); null when sc printed none (no such service).
 */
export function parseScState(output: string): number | null {
  const match = new RegExp(`:\\s*([1-7])\\s+(${SC_STATES.join("|")})\\b`).exec(output);
  return match && SC_STATES[Number(match[1]) - 1] === match[2] ? Number(match[1]) : null;
}

/**
 * Stops the Windows service and deletes it. `sc stop` answers at
 * STOP_PENDING: the service host has asked the helper to stop, and the helper
 * is taking back what its clients set while its files are still in use. So
 * this waits for STOPPED (the host's stop timeout is 20 s) before `sc
 * delete`, and asks again if the stop came while the service was still
 * starting (1061). sc's own exit code does not decide: Wine's answers 1 for
 * every failure; what `sc query` says does.
 */
export async function removeWindowsService(
  runner: CommandRunner,
  { timeoutMs = 40_000, pollMs = 250 }: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const sc = (args: string[]) => runner.run("sc.exe", args, { timeoutMs: 30_000 });
  const deadline = performance.now() + timeoutMs;
  await sc(["stop", DAEMON_NAME]);
  for (;;) {
    const query = await sc(["query", DAEMON_NAME]);
    const state = query.exitCode === 0 ? parseScState(query.stdout) : null;
    if (state === null || state === 1) break;
    if (performance.now() > deadline)
      throw new WindowsServiceError(
        `the ${DAEMON_NAME} service did not stop within ${timeoutMs / 1000} s (still ${SC_STATES[state - 1]})`,
      );
    // Still START_PENDING or RUNNING after a stop: it came too early (1061). The host reports STOP_PENDING before
    // ControlService returns, so an accepted stop never reads as RUNNING here.
    if (state === 2 || state === 4) await sc(["stop", DAEMON_NAME]);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const deleted = await sc(["delete", DAEMON_NAME]);
  // 1060: no such service; 1072: already marked for deletion. Wine's sc answers 1 for every failure, so a code it
  // gives is checked against what the service manager still has.
  if (![0, 1060, 1072].includes(deleted.exitCode) && parseScState((await sc(["query", DAEMON_NAME])).stdout) !== null)
    throw new WindowsServiceError(`sc.exe delete ${DAEMON_NAME} failed: ${(deleted.stdout || deleted.stderr).trim()}`);
}
