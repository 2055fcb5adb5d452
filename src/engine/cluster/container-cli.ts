import { z } from "zod";
import { assertProfileName } from "../../shared/profile-name.js";
import { type CommandRunner, CommandNotFoundError, execFileRunner } from "../system/command-runner.js";

/** The container engines minikube's kic drivers run nodes in; the CLI has the driver's name. */
export type ContainerEngine = "docker" | "podman";

export function containerEngineOf(driver: string): ContainerEngine | null {
  return driver === "docker" || driver === "podman" ? driver : null;
}

export class ContainerCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContainerCliError";
  }
}

/** Where the node's port 22 is published on this machine. */
export interface PublishedPort {
  readonly host: string;
  readonly port: number;
}

const bindingSchema = z.looseObject({ HostIp: z.string().optional(), HostPort: z.string().optional() });
const inspectSchema = z.array(
  z.looseObject({
    State: z.looseObject({ Running: z.boolean().optional(), Status: z.string().optional() }).optional(),
    NetworkSettings: z
      .looseObject({ Ports: z.record(z.string(), z.array(bindingSchema).nullable()).nullable().optional() })
      .optional(),
  }),
);

/**
 * The node's SSH port from `docker container inspect` JSON:
 * `NetworkSettings.Ports["22/tcp"][0]`. null when the container is not running
 * (Docker then lists no host ports). An empty or wildcard HostIp means every
 * address, so the link dials loopback.
 */
export function parseSshPort(json: string, name: string): PublishedPort | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ContainerCliError(`container inspect ${name} did not print JSON`);
  }
  const result = inspectSchema.safeParse(parsed);
  if (!result.success || result.data.length === 0)
    throw new ContainerCliError(`container inspect ${name} printed no container`);
  const container = result.data[0]!;
  if (container.State?.Running === false) return null;
  const binding = container.NetworkSettings?.Ports?.["22/tcp"]?.[0];
  const port = Number(binding?.HostPort);
  if (!binding || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  const host =
    !binding.HostIp || binding.HostIp === "0.0.0.0" ? "127.0.0.1" : binding.HostIp === "::" ? "::1" : binding.HostIp;
  return { host, port };
}

export interface DaemonFacts {
  /** Docker Desktop's VM (macOS, Windows, and Docker Desktop for Linux). */
  readonly desktop: boolean;
  /** A daemon without root: its containers' addresses live in its own network namespace. */
  readonly rootless: boolean;
}

/** Reads `docker system info` or `podman system info` JSON, as minikube's `oci.DaemonInfo` does. */
export function parseDaemonInfo(engine: ContainerEngine, json: string): DaemonFacts {
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new ContainerCliError(`${engine} system info did not print JSON`);
  }
  if (engine === "podman") {
    const host = (info.host ?? {}) as { rootless?: unknown; security?: { rootless?: unknown } };
    return { desktop: false, rootless: host.security?.rootless === true || host.rootless === true };
  }
  const options = Array.isArray(info.SecurityOptions)
    ? info.SecurityOptions.filter((o): o is string => typeof o === "string")
    : [];
  return {
    desktop: info.OperatingSystem === "Docker Desktop",
    rootless: options.some((o) => o.split(",").includes("name=rootless")),
  };
}

/** Lines of `ssh_host_*_key.pub` files (`ssh-rsa AAAA… root@minikube`). */
export const HOST_KEY_FILES = [
  "/etc/ssh/ssh_host_rsa_key.pub",
  "/etc/ssh/ssh_host_ecdsa_key.pub",
  "/etc/ssh/ssh_host_ed25519_key.pub",
];

export const CONTAINER_CLI_TIMEOUT_MS = 15_000;

/** `docker` or `podman`, as the profile's driver says, through argument arrays only. */
export class ContainerCli {
  constructor(
    readonly engine: ContainerEngine,
    private readonly runner: CommandRunner = execFileRunner,
  ) {}

  private async run(args: string[], signal?: AbortSignal) {
    try {
      return await this.runner.run(this.engine, args, {
        timeoutMs: CONTAINER_CLI_TIMEOUT_MS,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (error instanceof CommandNotFoundError)
        throw new ContainerCliError(
          `${this.engine} was not found on PATH; forward mode asks it where the node's SSH port is`,
        );
      throw error;
    }
  }

  async sshPort(profile: string, signal?: AbortSignal): Promise<PublishedPort | null> {
    const result = await this.run(["container", "inspect", assertProfileName(profile)], signal);
    if (result.exitCode !== 0) {
      const said = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
      if (/no such (container|object)/i.test(said)) return null;
      throw new ContainerCliError(
        `${this.engine} container inspect ${profile} failed (exit ${result.exitCode}${said ? `: ${said}` : ""})`,
      );
    }
    return parseSshPort(result.stdout, profile);
  }

  async daemon(signal?: AbortSignal): Promise<DaemonFacts> {
    const result = await this.run(
      ["system", "info", "--format", this.engine === "docker" ? "{{json .}}" : "json"],
      signal,
    );
    if (result.exitCode !== 0)
      throw new ContainerCliError(
        `${this.engine} system info failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().split("\n")[0] ?? ""}`,
      );
    return parseDaemonInfo(this.engine, result.stdout);
  }

  /**
   * The node's host public keys, read through the container engine rather
   * than over the network: the daemon knows which container is the node, so
   * an impostor on the published port cannot answer for it.
   */
  async hostPublicKeys(profile: string, signal?: AbortSignal): Promise<string> {
    // cat exits 1 when one of the key files is missing but still prints the others.
    const result = await this.run(["exec", assertProfileName(profile), "cat", ...HOST_KEY_FILES], signal);
    return result.stdout;
  }
}
