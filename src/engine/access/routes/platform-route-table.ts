import type { CommandRunner } from "../../system/command-runner.js";
import { DarwinRouteTable } from "./darwin-routes.js";
import { LinuxRouteTable } from "./linux-routes.js";
import type { RouteTable } from "./route-table.js";
import { WindowsRouteTable } from "./windows-routes.js";

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
