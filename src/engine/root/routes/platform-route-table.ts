import type { CommandRunner } from "../../system/command-runner.js";
import { DarwinRouteTable } from "./route-table-darwin.js";
import { LinuxRouteTable } from "./route-table-linux.js";
import type { RouteTable } from "./route-table.js";
import { WindowsRouteTable } from "./route-table-windows.js";

export function routeTableFor(platform: NodeJS.Platform = process.platform, runner?: CommandRunner): RouteTable {
  switch (platform) {
    case "linux":
      return new LinuxRouteTable(runner);
    case "darwin":
      return new DarwinRouteTable(runner);
    case "win32":
      return new WindowsRouteTable(runner);
    default:
      throw new Error(`routing is not supported on ${platform}`);
  }
}
