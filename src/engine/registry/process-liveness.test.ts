import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/eventually.js";
import { isTunnelProcessAlive, processStartTime } from "./process-liveness.js";

describe("tunnel process liveness", () => {
  it("a live process is alive; with another start time (a reused pid) it is not", async () => {
    const started = await processStartTime(process.pid);
    expect(await isTunnelProcessAlive(process.pid)).toBe(true);
    expect(await isTunnelProcessAlive(process.pid, started ?? undefined)).toBe(true);
    if (started !== null) expect(await isTunnelProcessAlive(process.pid, `${started}1`)).toBe(false);
    expect(await isTunnelProcessAlive(2 ** 22 + 7)).toBe(false);
  });

  // A daemon killed with -9 whose parent collects it late (a container's init) stays a zombie, and kill(pid, 0) still
  // answers for it.
  it.skipIf(process.platform !== "linux")("an exited process nobody has collected yet (a zombie) is dead", async () => {
    // The shell starts a child that exits soon, then becomes `sleep 30`, which never collects it.
    const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const line = await new Promise<string>((resolve) =>
        createInterface({ input: parent.stdout! }).once("line", resolve),
      );
      const zombie = Number(line);
      await eventually(async () => (await readFile(`/proc/${zombie}/stat`, "utf8")).includes(") Z "), {
        timeoutMs: 5000,
        what: `pid ${zombie} to be a zombie`,
      });
      expect(await isTunnelProcessAlive(zombie)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
