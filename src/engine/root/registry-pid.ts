import { type ChildProcess, spawn } from "node:child_process";
import { type ProcessIdentity, currentProcessIdentity, processStartTime } from "../registry/process-liveness.js";
import type { FileOwner } from "./files/guarded-files.js";

/**
 * The pid a root tunnel writes into MINIPATH/tunnels.json. minikube, run by
 * the MINIPATH owner, judges an entry alive with kill(pid, 0) and counts
 * EPERM as dead, so root's own pid reads as dead to it (and `minikube
 * tunnel` would clean our live routes away). A small child running as that
 * owner, that lives exactly as long as we do, stands in: `cat` reading our
 * pipe, which ends when this process ends, however it ends.
 */
export interface RegistryPid {
  readonly identity: ProcessIdentity;
  stop(): void;
}

export async function registryPidFor(owner: FileOwner): Promise<RegistryPid> {
  if (process.platform === "win32" || owner.uid === 0 || process.getuid?.() !== 0)
    return { identity: await currentProcessIdentity(), stop: () => undefined };
  const child: ChildProcess = spawn("cat", [], {
    uid: owner.uid,
    gid: owner.gid,
    stdio: ["pipe", "ignore", "ignore"],
    cwd: "/",
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  child.stdin?.on("error", () => undefined);
  // Not waited on: it must not keep this process alive, only live as long as it.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  const pid = child.pid!;
  const startTime = await processStartTime(pid);
  return {
    identity: startTime === null ? { pid } : { pid, startTime },
    stop: () => {
      child.stdin?.end();
      child.kill();
    },
  };
}
