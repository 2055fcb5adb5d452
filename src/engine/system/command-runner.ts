import { execFile } from "node:child_process";

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long; every external command has a limit. */
  readonly timeoutMs?: number;
  /** Kill it when the caller gives up (stop, SIGTERM, quit). */
  readonly signal?: AbortSignal;
  /** Data written to the command's standard input. */
  readonly input?: string;
}

/** Runs a program with an argument array. Never a shell: arguments are not re-parsed. */
export interface CommandRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`command "${command}" was not found on PATH`);
    this.name = "CommandNotFoundError";
  }
}

export class CommandTimeoutError extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} did not finish within ${timeoutMs} ms and was stopped`);
    this.name = "CommandTimeoutError";
  }
}

export class CommandAbortedError extends Error {
  constructor(readonly command: string) {
    super(`${command} was stopped: the operation was cancelled`);
    this.name = "CommandAbortedError";
  }
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export const execFileRunner: CommandRunner = {
  run(file, args, options = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const label = [file, ...args.slice(0, 3)].join(" ");
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) return reject(new CommandAbortedError(label));
      const child = execFile(
        file,
        [...args],
        {
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
          windowsHide: true,
          timeout: timeoutMs,
          killSignal: "SIGKILL",
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (error, stdout, stderr) => {
          if (error) {
            const code = (error as NodeJS.ErrnoException).code;
            if (code === "ENOENT") return reject(new CommandNotFoundError(file));
            if (code === "ABORT_ERR" || options.signal?.aborted) return reject(new CommandAbortedError(label));
            if ((error as { killed?: boolean }).killed && error.signal === "SIGKILL")
              return reject(new CommandTimeoutError(label, timeoutMs));
          }
          const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ stdout, stderr, exitCode });
        },
      );
      // A command may exit before it reads its input (ssh -O does): the broken pipe is not an error of ours.
      child.stdin?.on("error", () => undefined);
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  },
};
