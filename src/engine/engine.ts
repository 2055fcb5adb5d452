import { ClusterInspector } from "./cluster/cluster-inspector.js";
import { MinikubeCli } from "./cluster/minikube-cli.js";
import { registryPath, resolveMiniPath } from "./cluster/minipath.js";
import { KubernetesPodCidrSource, type PodCidrSource } from "./cluster/node-pod-cidrs.js";
import { currentProcessIdentity } from "./registry/process-liveness.js";
import { RegistryFile } from "./registry/registry-file.js";
import {
  type Allowances,
  type Root,
  type RouteTable,
  actingUserFor,
  createInProcessRoot,
  fileAccessFor,
  routeTableFor,
} from "./root/index.js";
import { TunnelLocks } from "./registry/tunnel-lock.js";
import type { RouteAccessDeps } from "./access/routes/route-access.js";
import { TunnelSet } from "./tunnels/tunnel-set.js";
import { TunnelSettingsError } from "./tunnels/profile-tunnel.js";
import { chooseSshClient } from "./access/forwards/forward-link.js";
import { accessFactories } from "./tunnels/access-factories.js";
import { defaultRuntimeDir } from "./elevation/elevation.js";
import { LazyRoot } from "./elevation/lazy-root.js";
import type { SshLinkOptions } from "./access/forwards/reconnecting-link.js";
import { type ModeChoice, type ModeDecision, decideAccessMode, hostFacts } from "./cluster/access-mode.js";
import { ContainerCli, type ContainerEngine, containerEngineOf } from "./cluster/container-cli.js";
import { readProfileConfig } from "./cluster/profile-config.js";
import type { CommandRunner } from "./system/command-runner.js";
import { runnerFor } from "./system/owner-runner.js";
import { kubeConfigSource } from "./kube/kube-config.js";
import { isElevated } from "./system/elevation-state.js";

export interface EngineOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly minikubeBinary?: string;
  readonly routeTable?: RouteTable;
  readonly podCidrSource?: PodCidrSource | null;
  /**
   * Everything that needs root (routes, loopback ports, names): the helper
   * for a normal user. Without it this process is its own root (as root: the
   * same session and policy the helper gives a client).
   */
  readonly root?: Root;
  /** False skips minikube's tunnel lock (tests that run several tunnels for one profile). */
  readonly tunnelLocks?: boolean;
  /** Network checks; an in-process test whose routes live in a lab namespace connects from there. */
  readonly network?: Pick<RouteAccessDeps, "probe" | "nodeAnswers">;
  readonly sshLink?: SshLinkOptions;
  /** False: cluster names stay off whatever the tunnel asks (a test that must not touch this machine's resolver). */
  readonly names?: boolean;
  /**
   * As root, in process: what the operator allows beyond the fixed rules (mktunnel start --allow-cidr/--allow-domain).
   */
  readonly allowances?: Allowances;
}

/** "auto" follows minikube's rule for the profile's driver; an explicit choice is checked against it. */
async function decideMode(
  miniPath: string,
  env: NodeJS.ProcessEnv,
  runner: CommandRunner,
  profile: string,
  choice: ModeChoice,
): Promise<ModeDecision> {
  const { driver } = await readProfileConfig(miniPath, profile);
  const engine = containerEngineOf(driver);
  if (choice === "forward" && !engine)
    throw new TunnelSettingsError(
      `profile "${profile}": forward mode needs the docker or podman driver (this profile uses ${driver || "an unknown driver"}); use route mode`,
    );
  if (choice !== "auto") return { mode: choice, reason: "chosen in the settings" };
  return decideAccessMode(driver, hostFacts(engine ?? "docker", env), () => new ContainerCli(engine!, runner).daemon());
}

/** Wires the engine's parts for one process: the CLI's and the tray app's tunnels start here. */
export async function createEngine(options: EngineOptions = {}) {
  const env = options.env ?? process.env;
  const miniPath = resolveMiniPath(env);
  const registry = new RegistryFile(registryPath(miniPath), { files: fileAccessFor(miniPath) });
  const table = options.routeTable ?? routeTableFor();
  const isRoot = isElevated();
  // As root, the user whose MINIPATH this is, found once (root/acting-user.ts): minikube and docker run as them, and
  // their kubeconfig is read with their rights (docs/security.md, "The root policy", row Commands root runs for a user).
  const actingUser = isRoot && process.platform !== "win32" ? await actingUserFor(miniPath) : null;
  const runner = runnerFor(actingUser);
  const kubeConfig = kubeConfigSource(actingUser, env);
  const minikube = new MinikubeCli(options.minikubeBinary ?? "minikube", runner);
  const inspector = new ClusterInspector(
    miniPath,
    minikube,
    options.podCidrSource === undefined ? new KubernetesPodCidrSource(kubeConfig) : options.podCidrSource,
  );
  const self = await currentProcessIdentity();
  const locks = new TunnelLocks(miniPath, () => registry.files(), self);
  // This process as its own root is made at first use: `status` and `registry reset` never need one.
  const root =
    options.root ??
    new LazyRoot(() =>
      createInProcessRoot({
        registry,
        table,
        runtimeDir: env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir(),
        names: options.names !== false,
        ...(options.allowances ? { allowances: options.allowances } : {}),
      }),
    );
  // Names need root: the helper, or this process as root; a normal user without the helper has none.
  const names = options.names === false || (!options.root && !isRoot) ? null : root;
  // Which SSH client carries forward mode (forward-link.ts): asked once, `ssh -V`.
  const sshClient = await chooseSshClient(env);
  const factories = accessFactories({
    miniPath,
    locks: options.tunnelLocks === false ? null : locks,
    route: { inspector, root, table, ...options.network },
    forward: {
      miniPath,
      minikube,
      containers: (engine) => new ContainerCli(engine, runner),
      locks: options.tunnelLocks === false ? null : locks,
      privileges: () => (options.root || isRoot ? root : null),
    },
    sshClient,
    actingForUid: actingUser?.uid ?? null,
    ...(options.sshLink ? { sshLink: options.sshLink } : {}),
  });
  const tunnels = new TunnelSet({
    miniPath,
    names,
    kubeConfig,
    decideMode: (profile, choice) => decideMode(miniPath, env, runner, profile, choice),
    createAccess: (request) => factories[request.mode](request),
  });
  return {
    miniPath,
    kubeConfig,
    registry,
    table,
    minikube,
    inspector,
    root,
    locks,
    tunnels,
    names,
    decideMode: (profile: string, choice: ModeChoice) => decideMode(miniPath, env, runner, profile, choice),
    containers: (engine: ContainerEngine) => new ContainerCli(engine, runner),
  };
}

export type Engine = Awaited<ReturnType<typeof createEngine>>;
