import { describe, expect, it } from "vitest";
import { CommandAbortedError, CommandTimeoutError, execFileRunner } from "./command-runner.js";

describe("every external command has a limit", () => {
  it("kills a command that hangs past its timeout, and says which", async () => {
    const started = performance.now();
    await expect(execFileRunner.run("sleep", ["30"], { timeoutMs: 200 })).rejects.toThrow(CommandTimeoutError);
    await expect(execFileRunner.run("sleep", ["30"], { timeoutMs: 200 })).rejects.toThrow(
      "sleep 30 did not finish within 200 ms and was stopped",
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("kills it at once when the caller gives up (stop, SIGTERM, quit)", async () => {
    const controller = new AbortController();
    const running = execFileRunner.run("sleep", ["30"], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toThrow(CommandAbortedError);
  });

  it("still reports a normal non-zero exit as a result, not an error", async () => {
    expect(await execFileRunner.run("sh", ["-c", "echo out; echo err >&2; exit 3"])).toEqual({
      stdout: "out\n",
      stderr: "err\n",
      exitCode: 3,
    });
  });
});

describe("input to a command", () => {
  it("a command that exits without reading its input (ssh -O does) is a result, not a crash of this process", async () => {
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on("uncaughtException", onError);
    try {
      // More than a pipe holds, so the write is still going when `true` has exited.
      for (let i = 0; i < 5; i++)
        expect((await execFileRunner.run("true", [], { input: "x".repeat(4 << 20) })).exitCode).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(errors).toEqual([]);
    } finally {
      process.off("uncaughtException", onError);
    }
  });
});
