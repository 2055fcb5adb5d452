import { type Cidr, type IpFamily, parseCidr } from "../../../shared/cidr.js";
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

/**
 * netstat abbreviates IPv4 destinations: trailing zero octets are dropped and
 * the mask is left out when it is the octet count times eight, so `127` is
 * 127.0.0.0/8, `192.168.43` is 192.168.43.0/24 and `10.96/12` is 10.96.0.0/12.
 * A four-octet destination without a mask is a host route.
 */
export function expandNetstatDestination(text: string, family: IpFamily): Cidr {
  if (text === "default") return parseCidr(family === 4 ? "0.0.0.0/0" : "::/0");
  const [addrPart = "", prefixPart] = text.split("/");
  if (family === 6) {
    const addr = addrPart.replace(/%[^/]*$/, "");
    return parseCidr(prefixPart === undefined ? addr : `${addr}/${prefixPart}`, { allowHostBits: true });
  }
  const octets = addrPart.split(".");
  if (octets.length < 1 || octets.length > 4 || octets.some((o) => !/^\d{1,3}$/.test(o))) {
    throw new Error(`unrecognised netstat destination "${text}"`);
  }
  const prefix = prefixPart !== undefined ? Number(prefixPart) : octets.length * 8;
  while (octets.length < 4) octets.push("0");
  return parseCidr(`${octets.join(".")}/${prefix}`, { allowHostBits: true });
}

export type SkippedRow = (line: string, reason: string) => void;

const SECTION = /^(Routing tables|Internet6?:)$/;

/**
 * Parses `netstat -nr -f inet` or `-f inet6`, or the matching section of a
 * plain `netstat -nr`. A row that cannot be read (an odd mask, a mapped
 * address) is passed to `skipped` and left out: the rest of the table still
 * counts, because a conflict check on a partial table beats none. Without a
 * header (a fragment), columns are taken in macOS's usual order.
 */
export function parseNetstatRoutes(
  stdout: string,
  family: IpFamily,
  skipped: SkippedRow = () => undefined,
): KernelRoute[] {
  const routes: KernelRoute[] = [];
  let columns: string[] | null = null;
  let section: IpFamily | null = null;
  for (const line of stdout.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (SECTION.test(trimmed)) {
      if (trimmed === "Internet:") section = 4;
      if (trimmed === "Internet6:") section = 6;
      columns = null;
      continue;
    }
    const fields = trimmed.split(/\s+/);
    if (fields[0] === "Destination") {
      columns = fields;
      continue;
    }
    if ((section ?? family) !== family || fields.length < 3) continue;
    const [dest = "", gateway = "", flags = ""] = fields;
    const netifIndex = columns ? columns.indexOf("Netif") : 3;
    let destination: Cidr;
    try {
      destination = expandNetstatDestination(dest, family);
    } catch (error) {
      skipped(trimmed, (error as Error).message);
      continue;
    }
    routes.push({
      destination,
      gateway:
        gateway.startsWith("link#") || gateway.includes(":") || /^[\d.]+$/.test(gateway) ? stripZone(gateway) : gateway,
      interface: netifIndex >= 0 ? (fields[netifIndex] ?? null) : null,
      ...(flags.includes("R") && flags.includes("B") ? { type: "blackhole" } : {}),
    });
  }
  return routes;
}

function stripZone(gateway: string): string {
  return gateway.replace(/%.*$/, "");
}

export class DarwinRouteTable implements RouteTable {
  constructor(
    private readonly runner: CommandRunner = execFileRunner,
    private readonly skipped: SkippedRow = (line, reason) =>
      console.warn(`netstat: skipped a row it cannot read (${reason}): ${line}`),
  ) {}

  async list(family: IpFamily, signal?: AbortSignal): Promise<KernelRoute[]> {
    const result = await this.runner.run("netstat", ["-nr", "-f", family === 4 ? "inet" : "inet6"], {
      timeoutMs: ROUTE_COMMAND_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
    if (result.exitCode !== 0) throw new RouteCommandError("list", `IPv${family} table`, result.stderr.trim());
    return parseNetstatRoutes(result.stdout, family, this.skipped);
  }

  apply(changes: readonly RouteChange[], signal?: AbortSignal): Promise<RouteChangeResult[]> {
    return applyAndVerify(
      this,
      this.runner,
      changes,
      (c) => [
        "route",
        "-n",
        c.op === "add" ? "add" : "delete",
        ...(c.destination.family === 6 ? ["-inet6"] : []),
        c.destination.text,
        c.gateway,
      ],
      signal,
    );
  }
}
