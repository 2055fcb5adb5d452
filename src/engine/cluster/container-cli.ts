import { z } from "zod";
import { assertProfileName } from "../../shared/profile-name.js";
import ipaddr from "ipaddr.js";
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
    Image: z.string().optional(),
    State: z.looseObject({ Running: z.boolean().optional(), Status: z.string().optional() }).optional(),
    NetworkSettings: z
      .looseObject({
        Ports: z.record(z.string(), z.array(bindingSchema).nullable()).nullable().optional(),
        Networks: z
          .record(z.string(), z.looseObject({ IPAddress: z.string().optional() }))
          .nullable()
          .optional(),
      })
      .optional(),
  }),
);

function parseInspect(json: string, name: string): z.infer<typeof inspectSchema>[number] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ContainerCliError(`container inspect ${name} did not print JSON`);
  }
  const result = inspectSchema.safeParse(parsed);
  if (!result.success || result.data.length === 0)
    throw new ContainerCliError(`container inspect ${name} printed no container`);
  return result.data[0]!;
}

/**
 * The node's SSH port from `docker container inspect` JSON:
 * `NetworkSettings.Ports["22/tcp"][0]`. null when the container is not running
 * (Docker then lists no host ports). An empty or wildcard HostIp means every
 * address, so the link dials loopback.
 */
export function parseSshPort(json: string, name: string): PublishedPort | null {
  return parsePublishedPort(json, name, "22/tcp");
}

/** Where a container's `port` ("22/tcp", "30053/udp") is published, from `container inspect` JSON; null if nowhere. */
export function parsePublishedPort(json: string, name: string, containerPort: string): PublishedPort | null {
  const container = parseInspect(json, name);
  if (container.State?.Running === false) return null;
  const binding = container.NetworkSettings?.Ports?.[containerPort]?.[0];
  const port = Number(binding?.HostPort);
  if (!binding || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  const host =
    !binding.HostIp || binding.HostIp === "0.0.0.0" ? "127.0.0.1" : binding.HostIp === "::" ? "::1" : binding.HostIp;
  return { host, port };
}

/** The node container's image and its place on the profile's network: a UDP relay runs beside it from the same image. */
export interface NodePlacement {
  readonly image: string;
  readonly network: string;
  readonly ip: string;
}

/** From the node's `container inspect` JSON: its image ID and its address on the network named after the profile. */
export function parseNodePlacement(json: string, profile: string): NodePlacement | null {
  const container = parseInspect(json, profile);
  const networks = Object.entries(container.NetworkSettings?.Networks ?? {}).filter(([, n]) => n.IPAddress);
  const [network, { IPAddress: ip } = {}] = networks.find(([name]) => name === profile) ?? networks[0] ?? [];
  if (container.State?.Running === false || !container.Image || !network || !ip) return null;
  // They become `docker run` arguments: an image ID only (never a name to pull, or an option), a private IPv4 address.
  if (!IMAGE_ID.test(container.Image))
    throw new ContainerCliError(`container inspect ${profile}: the image "${container.Image}" is not an image ID`);
  if (
    !ipaddr.IPv4.isValidFourPartDecimal(ip) ||
    !["private", "carrierGradeNat"].includes(ipaddr.IPv4.parse(ip).range())
  )
    throw new ContainerCliError(
      `container inspect ${profile}: the node's address "${ip}" is not a private IPv4 address`,
    );
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(network))
    throw new ContainerCliError(`container inspect ${profile}: the network name "${network}" is not one Docker makes`);
  return { image: container.Image, network, ip };
}

const IMAGE_ID = /^(sha256:)?[0-9a-f]{64}$/;

/** A relay's port as published: on 127.0.0.1 only, as asked; anything wider is refused, not read as loopback. */
export function parseRelayPort(json: string, name: string, containerPort: string): PublishedPort | null {
  const container = parseInspect(json, name);
  const binding = container.NetworkSettings?.Ports?.[containerPort]?.[0];
  const port = Number(binding?.HostPort);
  if (container.State?.Running === false || !binding || !Number.isInteger(port) || port < 1 || port > 65535)
    return null;
  if (binding.HostIp !== "127.0.0.1")
    throw new ContainerCliError(`${name} is published on "${binding.HostIp ?? ""}", not on 127.0.0.1 alone`);
  return { host: "127.0.0.1", port };
}

/** A UDP relay container (docs/architecture.md, "Forward mode", UDP). */
export interface UdpRelaySpec {
  readonly name: string;
  readonly profile: string;
  readonly placement: NodePlacement;
  /** The node port it relays to on the node's address; the relay listens on the same port number. */
  readonly nodePort: number;
  /** Seconds a flow with no datagram keeps its socat child. */
  readonly idleSeconds: number;
}

/**
 * Ours alone. Not minikube's `name.minikube.sigs.k8s.io`: minikube lists every container carrying it as a profile
 * (`minikube profile list` would show each relay as an invalid one).
 */
export const RELAY_LABEL = "minikube-tunnel.udp-relay";
/** Flows (socat children) one relay keeps at once. */
export const RELAY_MAX_FLOWS = 256;

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

const firstLine = (result: { stdout: string; stderr: string; exitCode: number }) =>
  `exit ${result.exitCode}${(result.stderr || result.stdout).trim() ? `: ${(result.stderr || result.stdout).trim().split("\n")[0]}` : ""}`;

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
      if (/no such (container|object)/i.test(result.stderr || result.stdout)) return null;
      throw new ContainerCliError(`${this.engine} container inspect ${profile} failed (${firstLine(result)})`);
    }
    return parseSshPort(result.stdout, profile);
  }

  async nodePlacement(profile: string): Promise<NodePlacement | null> {
    const result = await this.run(["container", "inspect", assertProfileName(profile)]);
    if (result.exitCode !== 0) return null;
    return parseNodePlacement(result.stdout, profile);
  }

  /**
   * Starts a UDP relay from the node's own image (no pull) on the node's network: socat, which kicbase ships, takes
   * each flow docker-proxy hands it to the node port. Published on 127.0.0.1 only, on a port Docker picks.
   */
  async startUdpRelay(relay: UdpRelaySpec): Promise<PublishedPort> {
    const { name, profile, placement, nodePort, idleSeconds } = relay;
    const args = [
      ...["run", "-d", "--rm", "--name", name, "--network", placement.network],
      ...["-p", `127.0.0.1::${nodePort}/udp`],
      ...["--label", `${RELAY_LABEL}=${assertProfileName(profile)}`],
      // Each flow is a socat child: any local program can open flows from new source ports, so both are bounded.
      ...["--pids-limit", String(RELAY_MAX_FLOWS + 16)],
      ...["--entrypoint", "socat", placement.image],
      ...["-T", String(idleSeconds), `UDP-LISTEN:${nodePort},fork,reuseaddr,max-children=${RELAY_MAX_FLOWS}`],
      `UDP:${placement.ip}:${nodePort}`,
    ];
    const started = await this.run(args);
    if (started.exitCode !== 0) throw new ContainerCliError(`${this.engine} run ${name} failed: ${firstLine(started)}`);
    const published = await this.relayPort(name, nodePort).catch(async (error: Error) => {
      await this.remove([name]).catch(() => undefined);
      throw error;
    });
    if (!published) throw new ContainerCliError(`${this.engine} published no port for ${name}`);
    return published;
  }

  /** Where a relay is published now: null when it is gone or stopped (a flow then starts it again). */
  async relayPort(name: string, nodePort: number): Promise<PublishedPort | null> {
    const inspected = await this.run(["container", "inspect", name]);
    if (inspected.exitCode !== 0) return null;
    return parseRelayPort(inspected.stdout, name, `${nodePort}/udp`);
  }

  /** Names of this profile's UDP relays, running or not. */
  async udpRelays(profile: string): Promise<string[]> {
    const result = await this.run([
      ...["ps", "-a", "--filter", `label=${RELAY_LABEL}=${assertProfileName(profile)}`],
      ...["--format", "{{.Names}}"],
    ]);
    if (result.exitCode !== 0)
      throw new ContainerCliError(`${this.engine} ps (UDP relays of ${profile}) failed: ${firstLine(result)}`);
    return result.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  }

  async remove(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const result = await this.run(["rm", "-f", ...names]);
    if (result.exitCode !== 0 && !/no such container/i.test(result.stderr))
      throw new ContainerCliError(`${this.engine} rm ${names.join(" ")} failed: ${firstLine(result)}`);
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
