import { z } from "zod";
import { type IpFamily, parseCidr } from "../../shared/cidr.js";
import type { KernelRoute } from "../../shared/routes.js";
import { type CommandRunner, execFileRunner } from "./command-runner.js";
import { type RouteChange, type RouteChangeResult, type RouteTable, ROUTE_COMMAND_TIMEOUT_MS, RouteCommandError, applyAndVerify } from "./route-table.js";

const ipJsonRouteSchema = z.looseObject({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  type: z.string().optional(),
});

/** Parses `ip -j route` / `ip -6 -j route` output. */
export function parseIpJsonRoutes(stdout: string, family: IpFamily): KernelRoute[] {
  const text = stdout.trim();
  if (text === "") return [];
  const rows = z.array(ipJsonRouteSchema).parse(JSON.parse(text));
  return rows.map((row) => {
    const dst = row.dst === "default" ? (family === 4 ? "0.0.0.0/0" : "::/0") : row.dst;
    return {
      destination: parseCidr(dst, { allowHostBits: true }),
      gateway: row.gateway ?? null,
      interface: row.dev ?? null,
      ...(row.type !== undefined && row.type !== "unicast" ? { type: row.type } : {}),
    };
  });
}

function familyFlag(family: IpFamily): string[] {
  return family === 6 ? ["-6"] : ["-4"];
}

export class LinuxRouteTable implements RouteTable {
  constructor(private readonly runner: CommandRunner = execFileRunner) {}

  async list(family: IpFamily, signal?: AbortSignal): Promise<KernelRoute[]> {
    const result = await this.runner.run("ip", [...familyFlag(family), "-j", "route", "show"], { timeoutMs: ROUTE_COMMAND_TIMEOUT_MS, ...(signal ? { signal } : {}) });
    if (result.exitCode !== 0) throw new RouteCommandError("list", `IPv${family} table`, result.stderr.trim());
    return parseIpJsonRoutes(result.stdout, family);
  }

  apply(changes: readonly RouteChange[], signal?: AbortSignal): Promise<RouteChangeResult[]> {
    return applyAndVerify(this, this.runner, changes, (c) => ["ip", ...familyFlag(c.destination.family), "route", c.op === "add" ? "add" : "del", c.destination.text, "via", c.gateway], signal);
  }
}
