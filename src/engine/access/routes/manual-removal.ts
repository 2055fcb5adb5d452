import type { KernelRoute } from "../../../shared/routes.js";
import { windowsRouteArgs } from "../../root/index.js";

/**
 * The command a user could run to remove a conflicting route themselves. We
 * only show it: a route we did not add is never removed by us (docs/architecture.md, "Conflicts").
 */
export function manualRemovalCommand(route: KernelRoute, platform: NodeJS.Platform = process.platform): string {
  const { destination, gateway } = route;
  if (platform === "win32") {
    // An on-link Windows route has no next hop; DELETE with destination and mask alone removes it.
    return `route ${windowsRouteArgs("DELETE", destination, gateway ?? "").join(" ")}`.trim();
  }
  if (platform === "darwin") {
    const via = gateway && !gateway.startsWith("link#") ? ` ${gateway}` : "";
    return `sudo route -n delete${destination.family === 6 ? " -inet6" : ""} ${destination.text}${via}`;
  }
  return `sudo ip${destination.family === 6 ? " -6" : ""} route del ${destination.text}${gateway ? ` via ${gateway}` : ""}${route.interface ? ` dev ${route.interface}` : ""}`;
}
