import { isTunnelProcessAlive, processStartTime } from "../../registry/process-liveness.js";
import { markerStarted } from "./hosts-block.js";

/** Liveness of a names marker's writer: the pid, and the start time as the marker spells it. */
export async function markerWriterAlive(pid: number, started: string): Promise<boolean> {
  if (!(await isTunnelProcessAlive(pid))) return false;
  if (started === "") return true;
  const current = await processStartTime(pid);
  return current === null || markerStarted(current) === started;
}
