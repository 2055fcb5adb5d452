import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";

/**
 * Loopback aliases for forward mode's addresses. On macOS lo0 answers only
 * 127.0.0.1 until another address is added as an alias; Linux and Windows
 * answer every 127/8 address already, so there is nothing to do there.
 */
export interface LoopbackAliases {
  add(address: string): Promise<void>;
  remove(address: string): Promise<void>;
}

export const noAliasesNeeded: LoopbackAliases = { add: async () => undefined, remove: async () => undefined };

/** macOS: `ifconfig lo0 alias A up` and `ifconfig lo0 -alias A` (ifconfig(8)). */
export class DarwinLoopbackAliases implements LoopbackAliases {
  constructor(private readonly runner: CommandRunner = execFileRunner) {}

  async add(address: string): Promise<void> {
    const result = await this.runner.run("ifconfig", ["lo0", "alias", address, "up"], { timeoutMs: 10_000 });
    if (result.exitCode !== 0)
      throw new Error(`ifconfig lo0 alias ${address} failed: ${(result.stderr || result.stdout).trim()}`);
  }

  async remove(address: string): Promise<void> {
    const result = await this.runner.run("ifconfig", ["lo0", "-alias", address], { timeoutMs: 10_000 });
    // Already gone is the outcome we wanted.
    if (result.exitCode !== 0 && !/can't assign requested address/i.test(result.stderr))
      throw new Error(`ifconfig lo0 -alias ${address} failed: ${(result.stderr || result.stdout).trim()}`);
  }
}

export function loopbackAliasesFor(platform: NodeJS.Platform = process.platform): LoopbackAliases {
  return platform === "darwin" ? new DarwinLoopbackAliases() : noAliasesNeeded;
}
