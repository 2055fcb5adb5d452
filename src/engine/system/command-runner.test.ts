import { describe, expect, it } from "vitest";
import { CommandAbortedError, CommandTimeoutError, execFileRunner } from "./command-runner.js";

describe("every external command has a limit", () => {
  it("kills a command that hangs past its timeout, and says which", async () => {
    const started = performance.now();
    await expect(execFileRunner.run("sleep", ["30"], { timeoutMs: 200 })).rejects.toThrow(CommandTimeoutError);
    await expect(execFileRunner.run("sleep", ["30"], { timeoutMs: 200 })).rejects.toThrow("sleep 30 did not finish within 200 ms and was stopped");
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("kills it at once when the caller gives up (stop, SIGTERM, quit)", async () => {
    const controller = new AbortController();
    const running = execFileRunner.run("sleep", ["30"], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toThrow(CommandAbortedError);
  });

  it("still reports a normal non-zero exit as a result, not an error", async () => {
    expect(await execFileRunner.run("sh", ["-c", "echo out; echo err >&2; exit 3"])).toEqual({ stdout: "out\n", stderr: "err\n", exitCode: 3 });
  });
});
