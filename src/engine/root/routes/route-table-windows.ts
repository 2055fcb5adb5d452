import { type Cidr, type IpFamily, netmaskToPrefix, parseCidr, prefixToNetmask } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import {
  type RouteChange,
  type RouteChangeResult,
  type RouteTable,
  ROUTE_COMMAND_TIMEOUT_MS,
  RouteCommandError,
  applyAndVerify,
} from "./route-table.js";

const IPV4 = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
/**
 * Destination, netmask, gateway (an address or a localised "On-link"),
 * interface, metric. The interface is the adapter's IPv4 address, or, for an
 * adapter without one (a VPN's TUN adapter), its index in hexadecimal.
 */
const IPV4_ROW = new RegExp(String.raw`^\s*(${IPV4})\s+(${IPV4})\s+(.+?)\s+(${IPV4}|[0-9a-fA-F]{1,8})\s+(\d+)\s*$`);
/** Interface index, metric, destination, and the gateway, which Windows wraps to the next line when long. */
const IPV6_ROW = /^\s*(\d+)\s+(\d+)\s+([0-9a-fA-F:.]+\/\d+)(?:\s+(\S.*?))?\s*$/;
const SEPARATOR = /^=+$/;

function gatewayOrOnLink(text: string): string | null {
  const trimmed = text.trim();
  return /^[0-9a-fA-F:.]+$/.test(trimmed) && (trimmed.includes(".") || trimmed.includes(":"))
    ? trimmed.replace(/%.*$/, "")
    : null;
}

/**
 * Parses `route print -4` / `route print -6`. Headings and "On-link" are
 * localised, so rows are recognised by shape, and only the first block of the
 * table (Active Routes) is read: the Persistent Routes block lists routes that
 * may not be in the kernel.
 */
export function parseRoutePrint(
  stdout: string,
  family: IpFamily,
  skipped: (line: string, reason: string) => void = () => undefined,
): KernelRoute[] {
  const lines = stdout.split(/\r?\n/);
  const routes: KernelRoute[] = [];
  let inActiveBlock = false;
  let activeBlockDone = false;
  let pendingV6: { ifIndex: string; destination: string } | null = null;
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (SEPARATOR.test(line.trim())) {
      if (inActiveBlock && routes.length > 0) activeBlockDone = true;
      inActiveBlock = false;
      continue;
    }
    if (activeBlockDone) break;
    if (family === 4) {
      const m = line.match(IPV4_ROW);
      if (!m) continue;
      inActiveBlock = true;
      const [, dest = "", mask = "", gw = "", iface = ""] = m;
      try {
        routes.push({
          destination: parseCidr(`${dest}/${netmaskToPrefix(mask)}`, { allowHostBits: true }),
          gateway: gatewayOrOnLink(gw),
          interface: iface.includes(".") ? iface : `0x${iface.toLowerCase()}`,
        });
      } catch (error) {
        skipped(line.trim(), (error as Error).message);
      }
      continue;
    }
    if (pendingV6 && /^\s{10,}\S/.test(line)) {
      pushV6(routes, pendingV6, line.trim(), skipped);
      pendingV6 = null;
      continue;
    }
    const m = line.match(IPV6_ROW);
    if (!m) continue;
    inActiveBlock = true;
    const [, ifIndex = "", , destination = "", gw] = m;
    if (gw === undefined) pendingV6 = { ifIndex, destination };
    else pushV6(routes, { ifIndex, destination }, gw, skipped);
  }
  return routes;
}

function pushV6(
  routes: KernelRoute[],
  row: { ifIndex: string; destination: string },
  gateway: string,
  skipped: (line: string, reason: string) => void,
): void {
  try {
    routes.push({
      destination: parseCidr(row.destination, { allowHostBits: true }),
      gateway: gatewayOrOnLink(gateway),
      interface: `if ${row.ifIndex}`,
    });
  } catch (error) {
    skipped(`${row.ifIndex} ${row.destination} ${gateway}`, (error as Error).message);
  }
}

export class WindowsRouteTable implements RouteTable {
  constructor(
    private readonly runner: CommandRunner = execFileRunner,
    private readonly skipped: (line: string, reason: string) => void = (line, reason) =>
      console.warn(`route print: skipped a row it cannot read (${reason}): ${line}`),
  ) {}

  async list(family: IpFamily, signal?: AbortSignal): Promise<KernelRoute[]> {
    const result = await this.runner.run("route", ["print", family === 4 ? "-4" : "-6"], {
      timeoutMs: ROUTE_COMMAND_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
    if (result.exitCode !== 0) throw new RouteCommandError("list", `IPv${family} table`, result.stderr.trim());
    return parseRoutePrint(result.stdout, family, this.skipped);
  }

  apply(changes: readonly RouteChange[], signal?: AbortSignal): Promise<RouteChangeResult[]> {
    return applyAndVerify(
      this,
      this.runner,
      changes,
      (c) => ["route", ...windowsRouteArgs(c.op === "add" ? "ADD" : "DELETE", c.destination, c.gateway)],
      signal,
    );
  }
}

export function windowsRouteArgs(verb: "ADD" | "DELETE", destination: Cidr, gateway: string): string[] {
  if (destination.family === 4)
    return [verb, destination.address, "MASK", prefixToNetmask(destination.prefix), gateway];
  return ["-6", verb, destination.text, gateway];
}
