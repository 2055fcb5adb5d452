import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { bundled } from "./bundles.js";
import { inPrivateEtc } from "./private-etc.js";

const ROOT = join(import.meta.dirname, "..");
export const CLI_ENTRY = bundled("mktunnel");

/**
 * Node on the bundled CLI, so the pid we signal is the CLI itself and not a
 * wrapper (every wrapper execs the next), with the test's private /etc: the
 * cluster names it writes land in a copy of /etc/hosts.
 */
export function cliCommand(netns: string | null, args: readonly string[]): [string, string[]] {
  const node = [process.execPath, CLI_ENTRY, ...args];
  return netns ? inPrivateEtc("ip", ["netns", "exec", netns, ...node]) : inPrivateEtc(node[0]!, node.slice(1));
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(netns: string | null, args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const [file, argv] = cliCommand(netns, args);
  return new Promise((resolve) => {
    const child = spawn(file, argv, { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `mktunnel start --json`, with its JSON lines collected as they come. */
export class StartedTunnel {
  readonly events: Record<string, unknown>[] = [];
  stderr = "";
  private waiters: { test: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] =
    [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        event = { event: "text", line };
      }
      this.events.push(event);
      this.waiters = this.waiters.filter((w) => (w.test(event) ? (w.resolve(event), false) : true));
    });
    child.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  }

  static start(netns: string, args: readonly string[], env: NodeJS.ProcessEnv): StartedTunnel {
    const [file, argv] = cliCommand(netns, ["start", "--json", ...args]);
    return new StartedTunnel(spawn(file, argv, { env, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
  }

  waitFor(
    test: (e: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
    what = "event",
  ): Promise<Record<string, unknown>> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; stderr: ${this.stderr}; events: ${JSON.stringify(this.events.slice(-5))}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({ test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  /** Waits for the next state event (after those seen so far) matching the test. */
  nextState(
    test: (e: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
    what = "state",
  ): Promise<Record<string, unknown>> {
    const from = this.events.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; stderr: ${this.stderr}; events: ${JSON.stringify(this.events.slice(-3))}`,
            ),
          ),
        timeoutMs,
      );
      const check = (e: Record<string, unknown>) => e.event === "state" && this.events.indexOf(e) >= from && test(e);
      const early = this.events.slice(from).find(check);
      if (early) {
        clearTimeout(timer);
        resolve(early);
        return;
      }
      this.waiters.push({ test: check, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  ready(): Promise<Record<string, unknown>> {
    return this.waitFor((e) => e.event === "ready", 20_000, "ready");
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}
