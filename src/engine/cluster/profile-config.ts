import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { z } from "zod";
import { isValidIp, parseCidr } from "../../shared/cidr.js";
import { isValidProfileName } from "../../shared/profile-name.js";
import { profileConfigPath } from "./minipath.js";
import { fileAccessFor } from "../root/index.js";

/** The fields of minikube's ClusterConfig that the tunnel uses; the rest is ignored. */
const clusterConfigSchema = z.looseObject({
  Name: z.string(),
  Driver: z.string().optional(),
  KubernetesConfig: z
    .looseObject({
      ServiceCIDR: z.string().optional(),
      DNSDomain: z.string().optional(),
      LoadBalancerStartIP: z.string().optional(),
      LoadBalancerEndIP: z.string().optional(),
    })
    .optional(),
  Nodes: z
    .array(
      z.looseObject({
        IP: z.string().optional(),
        Port: z.number().int().optional(),
        ControlPlane: z.boolean().optional(),
      }),
    )
    .nullish(),
});

export interface ProfileConfig {
  readonly name: string;
  readonly driver: string;
  readonly serviceCidr: string;
  readonly dnsDomain: string;
  readonly loadBalancerRange?: { readonly start: string; readonly end: string };
  /** The API server's port on the node (minikube's default 8443): what the cheap liveness check knocks on. */
  readonly apiPort: number;
  /** The control-plane node's own address on its network, as minikube recorded it (forward mode's NodePort target). */
  readonly nodeIp?: string;
}

export class ProfileConfigError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`profile config ${path}: ${detail}`);
    this.name = "ProfileConfigError";
  }
}

/** A profile minikube does not have: said once, with what to do (the profiles there are, or how to make one). */
export class ProfileMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProfileMissingError";
  }
}

/** Whether a program is on PATH, without running it. */
function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  const names = process.platform === "win32" ? [`${program}.exe`, `${program}.cmd`] : [program];
  return (env.PATH ?? "")
    .split(delimiter)
    .some((dir) => dir !== "" && names.some((name) => existsSync(join(dir, name))));
}

/** What a newcomer reads when the profile is not there: which profiles are, or how to get minikube and a cluster. */
export async function missingProfileMessage(
  miniPath: string,
  profile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const others = (await listProfileNames(miniPath)).filter((p) => p !== profile);
  if (others.length > 0)
    return `minikube has no profile "${profile}"; the profiles in ${miniPath} are ${others.join(", ")}: choose one with --profile ${others[0]}, or create "${profile}" with \`minikube start -p ${profile}\``;
  if (onPath("minikube", env))
    return `minikube has no profile "${profile}" yet (${join(miniPath, "profiles")} is empty): create the cluster with \`minikube start\`, then run this again`;
  return `minikube is not on PATH and ${miniPath} holds no cluster: install minikube (https://minikube.sigs.k8s.io/docs/start/), run \`minikube start\`, then run this again (or give minikube's path with --minikube)`;
}

/**
 * A file of MINIPATH, read as root reads a user's files (guarded-files.ts: no
 * link a user made, no FIFO, a bounded size) or plainly as its user; null
 * when it does not exist.
 */
async function readMiniPathFile(path: string): Promise<string | null> {
  return (await fileAccessFor(dirname(path))).readText(path);
}

export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";
export const DEFAULT_DNS_DOMAIN = "cluster.local";

export async function readProfileConfig(miniPath: string, profile: string): Promise<ProfileConfig> {
  const path = profileConfigPath(miniPath, profile);
  let text: string | null;
  try {
    text = await readMiniPathFile(path);
  } catch (error) {
    throw new ProfileConfigError(path, (error as Error).message);
  }
  if (text === null) throw new ProfileMissingError(await missingProfileMessage(miniPath, profile));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileConfigError(path, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = clusterConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProfileConfigError(
      path,
      `unexpected shape at ${issue?.path.join(".") || "top level"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const k8s = parsed.data.KubernetesConfig ?? {};
  const serviceCidr = k8s.ServiceCIDR?.trim() || DEFAULT_SERVICE_CIDR;
  try {
    parseCidr(serviceCidr);
  } catch (error) {
    throw new ProfileConfigError(path, `KubernetesConfig.ServiceCIDR: ${(error as Error).message}`);
  }
  const start = k8s.LoadBalancerStartIP?.trim();
  const end = k8s.LoadBalancerEndIP?.trim();
  const controlPlane = (parsed.data.Nodes ?? []).find((n) => n.ControlPlane) ?? parsed.data.Nodes?.[0];
  return {
    name: parsed.data.Name,
    driver: parsed.data.Driver ?? "",
    serviceCidr,
    dnsDomain: k8s.DNSDomain?.trim() || DEFAULT_DNS_DOMAIN,
    ...(start && end && isValidIp(start) && isValidIp(end) ? { loadBalancerRange: { start, end } } : {}),
    apiPort: controlPlane?.Port && controlPlane.Port > 0 && controlPlane.Port < 65536 ? controlPlane.Port : 8443,
    ...(controlPlane?.IP && isValidIp(controlPlane.IP) ? { nodeIp: controlPlane.IP } : {}),
  };
}

/** Profiles present on disk; used when minikube itself is unavailable. */
export async function listProfileNames(miniPath: string): Promise<string[]> {
  try {
    const names = await readdir(join(miniPath, "profiles"));
    return names.filter(isValidProfileName).sort();
  } catch {
    return [];
  }
}

/** `minikube profile <name>` stores the active profile in MINIPATH/config/config.json. */
export async function activeProfile(miniPath: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.MINIKUBE_PROFILE) return env.MINIKUBE_PROFILE;
  try {
    const config = JSON.parse((await readMiniPathFile(join(miniPath, "config", "config.json"))) ?? "") as {
      profile?: unknown;
    };
    if (typeof config.profile === "string" && config.profile !== "") return config.profile;
  } catch {
    // No config, or an unreadable one: minikube falls back to its default too.
  }
  return "minikube";
}
