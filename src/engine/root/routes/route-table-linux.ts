import { z } from "zod";
import { type IpFamily, parseCidr } from "../../../shared/cidr.js";
import type { KernelRoute } from "../../../shared/routes.js";
import { type CommandRunner, execFileRunner } from "../../system/command-runner.js";
import {
  type RouteChange,
  type RouteChangeResult,
  type RouteTable,
  ROUTE_COMMAND_TIMEOUT_MS,
  RouteCommandError,
  refusal,
  verifyChanges,
} from "./route-table.js";

const ipJsonRouteSchema = z.looseObject({
  dst: z.string(),
  gateway: z.string().optional(),
  dev: z.string().optional(),
  type: z.string().optional(),
  /** A multipath route keeps its gateways and devices here instead. */
  nexthops: z.array(z.looseObject({ gateway: z.string().optional(), dev: z.string().optional() })).optional(),
});

/** Parses `ip -j route` / `ip -6 -j route` output. */
export function parseIpJsonRoutes(
  stdout: string,
  family: IpFamily,
  skipped: (row: string, reason: string) => void = () => undefined,
): KernelRoute[] {
  const text = stdout.trim();
  if (text === "") return [];
  const rows = z.array(z.unknown()).parse(JSON.parse(text));
  const routes: KernelRoute[] = [];
  for (const raw of rows) {
    const parsed = ipJsonRouteSchema.safeParse(raw);
    if (!parsed.success) {
      skipped(JSON.stringify(raw), "not a route row");
      continue;
    }
    const row = parsed.data;
    const dst = row.dst === "default" ? (family === 4 ? "0.0.0.0/0" : "::/0") : row.dst;
    try {
      const destination = parseCidr(dst, { allowHostBits: true });
      const type = row.type !== undefined && row.type !== "unicast" ? { type: row.type } : {};
      // One row per next hop: the conflict rule and the path rule see every gateway and device it uses.
      const hops = row.nexthops?.length ? row.nexthops : [{ gateway: row.gateway, dev: row.dev }];
      for (const hop of hops)
        routes.push({ destination, gateway: hop.gateway ?? null, interface: hop.dev ?? null, ...type });
    } catch (error) {
      skipped(JSON.stringify(raw), (error as Error).message);
    }
  }
  return routes;
}

function familyFlag(family: IpFamily): string[] {
  return family === 6 ? ["-6"] : ["-4"];
}

/** `ip -batch` says "Command failed -:N" after the message of line N's failure. */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const errors = new Map<number, string>();
  let message: string[] = [];
  for (const line of stderr.split("\n")) {
    const failed = /^Command failed -:(\d+)$/.exec(line.trim());
    if (failed) {
      errors.set(Number(failed[1]), message.join(" ").trim() || "failed");
      message = [];
    } else if (line.trim() !== "") message.push(line.trim());
  }
  return errors;
}

export class LinuxRouteTable implements RouteTable {
  constructor(private readonly runner: CommandRunner = execFileRunner) {}

  async list(family: IpFamily, signal?: AbortSignal): Promise<KernelRoute[]> {
    const result = await this.runner.run("ip", [...familyFlag(family), "-j", "route", "show"], {
      timeoutMs: ROUTE_COMMAND_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
    if (result.exitCode !== 0) throw new RouteCommandError("list", `IPv${family} table`, result.stderr.trim());
    return parseIpJsonRoutes(result.stdout, family);
  }

  /**
   * The whole batch in one `ip -force -batch -` (one process, however many
   * routes), then one read-back per family. `ip` infers each line's family
   * from its addresses.
   */
  async apply(changes: readonly RouteChange[], signal?: AbortSignal): Promise<RouteChangeResult[]> {
    if (changes.length === 0) return [];
    const said = changes.map((c) => refusal(c) ?? "");
    const lines = changes
      .map((c, i) => ({ i, line: `route ${c.op === "add" ? "add" : "del"} ${c.destination.text} via ${c.gateway}` }))
      .filter(({ i }) => said[i] === "");
    if (lines.length > 0) {
      try {
        const result = await this.runner.run("ip", ["-force", "-batch", "-"], {
          input: `${lines.map((l) => l.line).join("\n")}\n`,
          timeoutMs: ROUTE_COMMAND_TIMEOUT_MS,
          ...(signal ? { signal } : {}),
        });
        for (const [n, message] of parseBatchErrors(result.stderr)) {
          const line = lines[n - 1];
          if (line) said[line.i] = message;
        }
      } catch (error) {
        if (signal?.aborted) throw error;
        for (const { i } of lines) said[i] = (error as Error).message;
      }
    }
    return verifyChanges(this, changes, said, signal);
  }
}
