import { homedir } from "node:os";
import { basename, join } from "node:path";
import { assertProfileName } from "../../shared/profile-name.js";

/** minikube's localpath.MiniPath(): the rule other tools rely on (docs/architecture.md, "Contracts"). */
export function resolveMiniPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const minikubeHome = env.MINIKUBE_HOME;
  if (!minikubeHome) return join(home, ".minikube");
  if (basename(minikubeHome) === ".minikube") return minikubeHome;
  return join(minikubeHome, ".minikube");
}

export function registryPath(miniPath: string): string {
  return join(miniPath, "tunnels.json");
}

export function profileConfigPath(miniPath: string, profile: string): string {
  return join(miniPath, "profiles", assertProfileName(profile), "config.json");
}
