import { execFile } from "node:child_process";

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Runs a program with an argument array. Never a shell: arguments are not re-parsed. */
export interface CommandRunner {
  run(file: string, args: readonly string[]): Promise<CommandResult>;
}

export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`command "${command}" was not found on PATH`);
    this.name = "CommandNotFoundError";
  }
}

export const execFileRunner: CommandRunner = {
  run(file, args) {
    return new Promise((resolve, reject) => {
      execFile(file, [...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new CommandNotFoundError(file));
          return;
        }
        const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ stdout, stderr, exitCode });
      });
    });
  },
};
