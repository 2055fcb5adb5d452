import { ClusterInspector } from "./cluster/cluster-inspector.js";
import { MinikubeCli } from "./cluster/minikube-cli.js";
import { registryPath, resolveMiniPath } from "./cluster/minipath.js";
import { KubernetesPodCidrSource, type PodCidrSource } from "./cluster/node-pod-cidrs.js";
import { currentProcessIdentity } from "./registry/process-liveness.js";
import { RegistryFile } from "./registry/registry-file.js";
import { RouteRegistrar } from "./registry/route-transaction.js";
import type { RouteService } from "./registry/route-service.js";
import { routeTableFor } from "./access/routes/platform-route-table.js";
import type { RouteTable } from "./access/routes/route-table.js";
import { TunnelLocks } from "./registry/tunnel-lock.js";
import { RouteAccess, type RouteAccessDeps } from "./access/routes/route-access.js";
import { TunnelSet } from "./session/tunnel-set.js";

export interface EngineOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly minikubeBinary?: string;
  readonly routeTable?: RouteTable;
  readonly podCidrSource?: PodCidrSource | null;
  /** Route changes through the privileged helper instead of in this process. */
  readonly routeService?: RouteService;
  /** False skips minikube's tunnel lock (tests that run several tunnels for one profile). */
  readonly tunnelLocks?: boolean;
  /** Network checks; an in-process test whose routes live in a lab namespace connects from there. */
  readonly network?: Pick<RouteAccessDeps, "probe" | "nodeAnswers">;
}

/** Wires the engine's parts for one process; the CLI, the helper and the app all start here. */
export async function createEngine(options: EngineOptions = {}) {
  const miniPath = resolveMiniPath(options.env ?? process.env);
  const registry = new RegistryFile(registryPath(miniPath));
  const table = options.routeTable ?? routeTableFor();
  const minikube = new MinikubeCli(options.minikubeBinary ?? "minikube");
  const inspector = new ClusterInspector(miniPath, minikube, options.podCidrSource === undefined ? new KubernetesPodCidrSource() : options.podCidrSource);
  const self = await currentProcessIdentity();
  const registrar = new RouteRegistrar(table, registry, self);
  const locks = new TunnelLocks(miniPath, () => registry.guard(), self);
  const routeDeps: RouteAccessDeps = { inspector, registrar: options.routeService ?? registrar, table, locks: options.tunnelLocks === false ? null : locks, ...options.network };
  const tunnels = new TunnelSet({
    miniPath,
    createAccess: ({ profile, lbPool, pollIntervalMs }) => new RouteAccess(routeDeps, { profile, lbPool, ...(pollIntervalMs ? { pollIntervalMs } : {}) }),
  });
  return { miniPath, registry, table, minikube, inspector, registrar, locks, tunnels };
}

export type Engine = Awaited<ReturnType<typeof createEngine>>;
