import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { promisify } from "node:util";
import { type ProcessIdentity, processStartTime } from "../engine/registry/process-liveness.js";

const run = promisify(execFile);

/** The uid a process runs as: /proc on Linux, ps elsewhere; null when there is no such process. */
async function uidOf(pid: number, platform: NodeJS.Platform): Promise<number | null> {
  if (platform === "linux")
    return stat(`/proc/${pid}`).then(
      (s) => s.uid,
      () => null,
    );
  const out = await run("ps", ["-o", "uid=", "-p", String(pid)], { timeout: 5000 }).then(
    (r) => r.stdout.trim(),
    () => "",
  );
  return out === "" ? null : Number(out);
}

/**
 * The pid a client says it is: a live process of the user the helper
 * serves, so its entries carry a pid that user (and minikube, running as
 * them) can signal, and no client can make its routes follow another
 * user's process. Windows has no uids to compare: the channel's secret is
 * the proof there.
 */
export async function verifyClientPid(
  pid: number,
  uid: number,
  platform: NodeJS.Platform = process.platform,
): Promise<ProcessIdentity> {
  if (platform !== "win32") {
    const owner = await uidOf(pid, platform);
    if (owner === null) throw new Error(`pid ${pid} is not a running process`);
    if (owner !== uid) throw new Error(`pid ${pid} belongs to uid ${owner}, not to the helper's user ${uid}`);
  }
  const startTime = await processStartTime(pid);
  return startTime === null ? { pid } : { pid, startTime };
}
