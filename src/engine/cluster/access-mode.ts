import type { AccessMode } from "../access/cluster-access.js";
import { type ContainerEngine, type DaemonFacts, containerEngineOf } from "./container-cli.js";

export type ModeChoice = "auto" | AccessMode;

export interface HostFacts {
  readonly platform: NodeJS.Platform;
  /** Running inside WSL (minikube: WSL_DISTRO_NAME or WSLPATH set). */
  readonly wsl: boolean;
  /** DOCKER_HOST (docker) or CONTAINER_HOST (podman). */
  readonly daemonHost: string | undefined;
}

export interface ModeDecision {
  readonly mode: AccessMode;
  /** One sentence the status line can show. */
  readonly reason: string;
}

/** minikube's `oci.IsExternalDaemonHost`: a daemon URL with a host part (tcp://, ssh://) is another machine. */
export function isRemoteDaemon(daemonHost: string | undefined): boolean {
  if (!daemonHost) return false;
  try {
    return new URL(daemonHost).host !== "";
  } catch {
    return false;
  }
}

export function hostFacts(
  engine: ContainerEngine,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): HostFacts {
  return {
    platform,
    wsl: Boolean(env.WSL_DISTRO_NAME || env.WSLPATH),
    daemonHost: engine === "podman" ? env.CONTAINER_HOST : env.DOCKER_HOST,
  };
}

/**
 * minikube's `driver.NeedsPortForward`: a docker or podman node can be
 * routed to only from a Linux host whose local, rootful daemon is not
 * Docker Desktop. Everything else reaches Services through forwards.
 * `daemon` is asked only when the cheaper facts do not decide.
 */
export async function decideAccessMode(
  driver: string,
  facts: HostFacts,
  daemon: () => Promise<DaemonFacts>,
): Promise<ModeDecision> {
  const engine = containerEngineOf(driver);
  if (!engine)
    return {
      mode: "route",
      reason: `the ${driver || "unknown"} driver gives the node an address this machine can route to`,
    };
  if (isRemoteDaemon(facts.daemonHost))
    return { mode: "forward", reason: `the ${engine} daemon is on another machine (${facts.daemonHost})` };
  if (facts.platform === "darwin" || facts.platform === "win32")
    return {
      mode: "forward",
      reason: `with the ${engine} driver on ${facts.platform === "darwin" ? "macOS" : "Windows"} the node lives in the daemon's VM`,
    };
  if (facts.wsl)
    return { mode: "forward", reason: `with the ${engine} driver under WSL the node lives in Docker Desktop's VM` };
  let info: DaemonFacts;
  try {
    info = await daemon();
  } catch (error) {
    return {
      mode: "route",
      reason: `could not ask the ${engine} daemon (${(error as Error).message}); trying routes, as a local Linux daemon needs`,
    };
  }
  if (info.desktop) return { mode: "forward", reason: "the daemon is Docker Desktop, whose VM holds the node" };
  if (info.rootless)
    return {
      mode: "forward",
      reason: `the ${engine} daemon is rootless, so the node's address is inside its own network namespace`,
    };
  return {
    mode: "route",
    reason: `the ${engine} daemon runs on this Linux machine, so the node's address is routable`,
  };
}
