import { type Cidr, type IpFamily, normaliseIp, isValidIp } from "../../shared/cidr.js";
import type { KernelRoute } from "../../shared/routes.js";
import type { CommandRunner } from "./command-runner.js";

/** One interface over the OS routing table; one implementation per OS. */
export interface RouteTable {
  list(family: IpFamily): Promise<KernelRoute[]>;
  /** Adds `destination via gateway`; resolves only when reading the table back shows it. */
  add(destination: Cidr, gateway: string): Promise<void>;
  /** Removes `destination via gateway`; resolves only when reading the table back no longer shows it. */
  remove(destination: Cidr, gateway: string): Promise<void>;
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

/**
 * Runs a route-changing command and decides success from the table, not from
 * the command's words: Windows prints localised messages, and `route` on macOS
 * exits 0 for some failures.
 */
export async function changeAndVerify(
  table: RouteTable,
  runner: CommandRunner,
  operation: "add" | "remove",
  destination: Cidr,
  gateway: string,
  command: readonly [string, ...string[]],
): Promise<void> {
  const [file, ...args] = command;
  const result = await runner.run(file, args);
  const present = findRoute(await table.list(destination.family), destination, gateway) !== undefined;
  if (present === (operation === "add")) return;
  const said = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
  const detail = said !== "" ? said : `exit code ${result.exitCode}, and the table ${operation === "add" ? "does not show" : "still shows"} the route`;
  throw new RouteCommandError(operation, `${destination.text} via ${gateway}`, detail);
}

export function assertSameFamily(destination: Cidr, gateway: string): void {
  if (!isValidIp(gateway)) throw new RouteCommandError("add", `${destination.text} via ${gateway}`, `gateway "${gateway}" is not an IP address`);
  const gwFamily = normaliseIp(gateway).includes(":") ? 6 : 4;
  if (gwFamily !== destination.family) {
    throw new RouteCommandError("add", `${destination.text} via ${gateway}`, "gateway and destination are different IP families");
  }
}
