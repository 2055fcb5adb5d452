import { type Cidr, type IpFamily, normaliseIp, isValidIp } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import type { CommandRunner } from "../../system/command-runner.js";

export interface RouteChange {
  readonly op: "add" | "remove";
  readonly destination: Cidr;
  readonly gateway: string;
}

export interface RouteChangeResult {
  readonly change: RouteChange;
  /** Judged by reading the table back: the route is there after an add, gone after a remove. */
  readonly ok: boolean;
  readonly error?: string;
}

/** Route commands are quick; one that hangs is killed rather than waited for. */
export const ROUTE_COMMAND_TIMEOUT_MS = 10_000;

/** One interface over the OS routing table; one implementation per OS. */
export interface RouteTable {
  list(family: IpFamily, signal?: AbortSignal): Promise<KernelRoute[]>;
  /** Runs every change, then reads the table back once per family; each result says whether the table agrees. */
  apply(changes: readonly RouteChange[], signal?: AbortSignal): Promise<RouteChangeResult[]>;
}

export class RouteCommandError extends Error {
  constructor(
    readonly operation: "add" | "remove" | "list",
    readonly route: string,
    detail: string,
  ) {
    super(`route ${operation} ${route} failed: ${detail}`);
    this.name = "RouteCommandError";
  }
}

export function findRoute(routes: readonly KernelRoute[], destination: Cidr, gateway: string): KernelRoute | undefined {
  const gw = normaliseIp(gateway);
  return routes.find(
    (r) =>
      r.destination.text === destination.text &&
      r.gateway !== null &&
      isValidIp(r.gateway) &&
      normaliseIp(r.gateway) === gw,
  );
}

function familyMismatch(change: RouteChange): string | null {
  if (!isValidIp(change.gateway)) return `gateway "${change.gateway}" is not an IP address`;
  const gwFamily = normaliseIp(change.gateway).includes(":") ? 6 : 4;
  return gwFamily !== change.destination.family ? "gateway and destination are different IP families" : null;
}

/** An add whose gateway cannot carry it is refused before any command runs. */
export function refusal(change: RouteChange): string | null {
  return change.op === "add" ? familyMismatch(change) : null;
}

/** Runs one command per change (macOS, Windows); returns what each said, for error messages only. */
export async function runEach(
  runner: CommandRunner,
  changes: readonly RouteChange[],
  command: (change: RouteChange) => readonly [string, ...string[]],
  signal?: AbortSignal,
): Promise<string[]> {
  const said: string[] = [];
  for (const change of changes) {
    const refused = refusal(change);
    if (refused) {
      said.push(refused);
      continue;
    }
    const [file, ...args] = command(change);
    try {
      const result = await runner.run(file, args, {
        timeoutMs: ROUTE_COMMAND_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      });
      const text = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
      said.push(text !== "" ? text : `exit code ${result.exitCode}`);
    } catch (error) {
      if (signal?.aborted) throw error;
      said.push((error as Error).message);
    }
  }
  return said;
}

/**
 * Reads the table back once per family and decides each change's success
 * from it, not from the commands' words: Windows prints localised messages,
 * and `route` on macOS exits 0 for some failures.
 */
export async function verifyChanges(
  table: Pick<RouteTable, "list">,
  changes: readonly RouteChange[],
  said: readonly string[],
  signal?: AbortSignal,
): Promise<RouteChangeResult[]> {
  const families = [...new Set(changes.map((c) => c.destination.family))];
  const tables = new Map<IpFamily, KernelRoute[]>();
  for (const family of families) tables.set(family, await table.list(family, signal));
  return changes.map((change, i) => {
    const present =
      findRoute(tables.get(change.destination.family) ?? [], change.destination, change.gateway) !== undefined;
    if (present === (change.op === "add")) return { change, ok: true };
    const why = said[i] || "no error was printed";
    return {
      change,
      ok: false,
      error: `${why}; the table ${change.op === "add" ? "does not show" : "still shows"} ${change.destination.text} via ${change.gateway}`,
    };
  });
}

/** The usual way: a command per change, then one read-back. */
export async function applyAndVerify(
  table: Pick<RouteTable, "list">,
  runner: CommandRunner,
  changes: readonly RouteChange[],
  command: (change: RouteChange) => readonly [string, ...string[]],
  signal?: AbortSignal,
): Promise<RouteChangeResult[]> {
  if (changes.length === 0) return [];
  return verifyChanges(table, changes, await runEach(runner, changes, command, signal), signal);
}

/** One change, failing loudly: for callers that handle a single route. */
export async function changeRoute(
  table: RouteTable,
  op: "add" | "remove",
  destination: Cidr,
  gateway: string,
): Promise<void> {
  const [result] = await table.apply([{ op, destination, gateway }]);
  if (!result?.ok) throw new RouteCommandError(op, `${destination.text} via ${gateway}`, result?.error ?? "no result");
}
