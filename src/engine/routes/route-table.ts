import { type Cidr, type IpFamily, normaliseIp, isValidIp } from "../../shared/cidr.js";
import type { KernelRoute } from "../../shared/routes.js";
import type { CommandRunner } from "./command-runner.js";

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
    (r) => r.destination.text === destination.text && r.gateway !== null && isValidIp(r.gateway) && normaliseIp(r.gateway) === gw,
  );
}

function familyMismatch(change: RouteChange): string | null {
  if (!isValidIp(change.gateway)) return `gateway "${change.gateway}" is not an IP address`;
  const gwFamily = normaliseIp(change.gateway).includes(":") ? 6 : 4;
  return gwFamily !== change.destination.family ? "gateway and destination are different IP families" : null;
}

/**
 * Runs each route command, then reads the table back once per family and
 * decides success from the table, not from the command's words: Windows
 * prints localised messages, and `route` on macOS exits 0 for some failures.
 */
export async function applyAndVerify(
  table: Pick<RouteTable, "list">,
  runner: CommandRunner,
  changes: readonly RouteChange[],
  command: (change: RouteChange) => readonly [string, ...string[]],
  signal?: AbortSignal,
): Promise<RouteChangeResult[]> {
  const said: string[] = [];
  for (const change of changes) {
    const mismatch = change.op === "add" ? familyMismatch(change) : null;
    if (mismatch) {
      said.push(mismatch);
      continue;
    }
    const [file, ...args] = command(change);
    try {
      const result = await runner.run(file, args, { timeoutMs: ROUTE_COMMAND_TIMEOUT_MS, ...(signal ? { signal } : {}) });
      const text = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
      said.push(text !== "" ? text : `exit code ${result.exitCode}`);
    } catch (error) {
      if (signal?.aborted) throw error;
      said.push((error as Error).message);
    }
  }
  const families = [...new Set(changes.map((c) => c.destination.family))];
  const tables = new Map<IpFamily, KernelRoute[]>();
  for (const family of families) tables.set(family, await table.list(family, signal));
  return changes.map((change, i) => {
    const present = findRoute(tables.get(change.destination.family) ?? [], change.destination, change.gateway) !== undefined;
    if (present === (change.op === "add")) return { change, ok: true };
    return { change, ok: false, error: `${said[i]}; the table ${change.op === "add" ? "does not show" : "still shows"} ${change.destination.text} via ${change.gateway}` };
  });
}

/** One change, failing loudly: for callers that handle a single route. */
export async function changeRoute(table: RouteTable, op: "add" | "remove", destination: Cidr, gateway: string): Promise<void> {
  const [result] = await table.apply([{ op, destination, gateway }]);
  if (!result?.ok) throw new RouteCommandError(op, `${destination.text} via ${gateway}`, result?.error ?? "no result");
}
