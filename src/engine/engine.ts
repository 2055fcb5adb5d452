import { ClusterInspector } from "./cluster/cluster-inspector.js";
import { MinikubeCli } from "./cluster/minikube-cli.js";
import { registryPath, resolveMiniPath } from "./cluster/minipath.js";
import { KubernetesPodCidrSource, type PodCidrSource } from "./cluster/node-pod-cidrs.js";
import { currentProcessIdentity } from "./registry/process-liveness.js";
import { RegistryFile } from "./registry/registry-file.js";
import { RouteRegistrar } from "./root/routes/route-transaction.js";
import type { RouteService } from "./root/routes/route-changes.js";
import { routeTableFor } from "./root/routes/platform-route-table.js";
import type { RouteTable } from "./root/routes/route-table.js";
import { TunnelLocks } from "./registry/tunnel-lock.js";
import { RouteAccess, type RouteAccessDeps } from "./access/routes/route-access.js";
import { TunnelSet } from "./tunnels/tunnel-set.js";
import { TunnelSettingsError } from "./tunnels/profile-tunnel.js";
import { chooseSshClient } from "./access/forwards/forward-link.js";
import { ForwardAccess } from "./access/forwards/forward-access.js";
import type { LoopbackPrivileges } from "./access/forwards/forward-listeners.js";
import { loopbackOctetFor, loopbackPoolFor } from "./access/forwards/loopback-range.js";
import { inProcessLoopbackPrivileges } from "./root/loopback/loopback-aliases.js";
import { InProcessNames, type NamesBackend } from "./root/names/names-writer.js";
import { defaultRuntimeDir } from "./elevation/elevation.js";
import type { SshLinkOptions } from "./access/forwards/reconnecting-link.js";
import { type ModeChoice, type ModeDecision, decideAccessMode, hostFacts } from "./cluster/access-mode.js";
import { ContainerCli, containerEngineOf } from "./cluster/container-cli.js";
import { readProfileConfig } from "./cluster/profile-config.js";

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
  /** Forward mode's privileged half (ports below 1024, macOS aliases): the helper; null when none is needed or available. */
  readonly loopbackPrivileges?: () => LoopbackPrivileges | null;
  readonly sshLink?: SshLinkOptions;
  /** Root's side of cluster names: the helper for a normal user; as root this process itself by default. */
  readonly names?: NamesBackend | null;
}

/** "auto" follows minikube's rule for the profile's driver; an explicit choice is checked against it. */
async function decideMode(miniPath: string, env: NodeJS.ProcessEnv, profile: string, choice: ModeChoice): Promise<ModeDecision> {
  const { driver } = await readProfileConfig(miniPath, profile);
  const engine = containerEngineOf(driver);
  if (choice === "forward" && !engine) throw new TunnelSettingsError(`profile "${profile}": forward mode needs the docker or podman driver (this profile uses ${driver || "an unknown driver"}); use route mode`);
  if (choice !== "auto") return { mode: choice, reason: "chosen in the settings" };
  return decideAccessMode(driver, hostFacts(engine ?? "docker", env), () => new ContainerCli(engine!).daemon());
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
  // Root needs no helper for forward mode: it binds low ports itself and adds macOS aliases in process.
  const inProcess = process.getuid?.() === 0 ? inProcessLoopbackPrivileges() : null;
  const rootPrivileges = () => inProcess;
  // Profiles of this process in forward mode each hold their own /16 of loopback addresses.
  const forwardOctets = new Set<number>();
  const env = options.env ?? process.env;
  const names = options.names !== undefined ? options.names : process.getuid?.() === 0 ? await InProcessNames.create(env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir()) : null;
  // Which SSH client carries forward mode (forward-link.ts): asked once, `ssh -V`.
  const sshClient = await chooseSshClient(env);
  const tunnels = new TunnelSet({
    miniPath,
    names,
    decideMode: (profile, choice) => decideMode(miniPath, env, profile, choice),
    createRouteAccess: ({ profile, lbPool, pollIntervalMs }) => new RouteAccess(routeDeps, { profile, lbPool, ...(pollIntervalMs ? { pollIntervalMs } : {}) }),
    createForwardAccess: (profile) => {
      const octet = loopbackOctetFor(profile, forwardOctets);
      forwardOctets.add(octet);
      return {
        access: new ForwardAccess(
          { miniPath, minikube, containers: (engine) => new ContainerCli(engine), locks: options.tunnelLocks === false ? null : locks, privileges: options.loopbackPrivileges ?? rootPrivileges },
          { profile, sshClient, ...(options.sshLink ? { link: options.sshLink } : {}) },
        ),
        pool: loopbackPoolFor(octet),
        release: () => forwardOctets.delete(octet),
      };
    },
  });
  return { miniPath, registry, table, minikube, inspector, registrar, locks, tunnels, names, decideMode: (profile: string, choice: ModeChoice) => decideMode(miniPath, env, profile, choice) };
}

export type Engine = Awaited<ReturnType<typeof createEngine>>;
