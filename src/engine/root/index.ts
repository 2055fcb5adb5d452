// The root module's public face (docs/architecture.md, "The root boundary"): the one interface the
// tunnels use, the in-process implementation, and what unprivileged code may read (the routing table,
// the conflict rule, registry liveness). Everything that changes routes, names or privileged files stays
// behind it: lint refuses an import of root/'s other files from outside root/ and src/helper/.
export type {
  AddOutcome,
  CleanedRoute,
  CleanupFailure,
  CleanupReport,
  ClusterDns,
  HostsEntry,
  HostsResult,
  ProfileDeclaration,
  RemoveOutcome,
  Root,
  RootLoopback,
  RootNames,
  RootRoutes,
  RouteRef,
  RouteRequest,
  WildcardEntry,
  WildcardsResult,
} from "./root.js";
export { createInProcessRoot } from "./in-process.js";
export { systemPortRefusal } from "./policy/service-ports.js";
export { type ActingUser, actingUserFor } from "./acting-user.js";
export { fileAccessFor } from "./files/guarded-files.js";
export { ensureRootDirectory } from "./files/root-directory.js";
export { routeTableFor } from "./routes/platform-route-table.js";
export type { RouteTable } from "./routes/route-table.js";
export { findRoute } from "./routes/route-table.js";
export { windowsRouteArgs } from "./routes/route-table-windows.js";
export { type RegistryView, evaluateRoute } from "./routes/conflicts.js";
export { registryViews } from "./routes/registry-views.js";
export { NO_ALLOWANCES, type Allowances, allowancesSchema } from "./policy/allowances.js";
