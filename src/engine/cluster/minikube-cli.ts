import { z } from "zod";
import { assertProfileName } from "../../shared/profile-name.js";
import { isValidIp } from "../../shared/cidr.js";
import { type CommandRunner, CommandNotFoundError, execFileRunner } from "../system/command-runner.js";

/** minikube's status words; anything unexpected is kept verbatim. */
export type HostState = "Running" | "Stopped" | "Paused" | "Nonexistent" | "Starting" | "Unknown" | (string & {});

const statusSchema = z.looseObject({
  Name: z.string().optional(),
  Host: z.string(),
  Kubelet: z.string().optional(),
  APIServer: z.string().optional(),
});

export class MinikubeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MinikubeError";
  }
}

export interface MinikubeStatus {
  readonly host: HostState;
  readonly apiServer?: string;
}

/** `minikube status` checks the node over SSH and can be slow, but a hung one must not hold the tunnel. */
export const MINIKUBE_TIMEOUT_MS = 20_000;

/** The minikube commands we run (docs/architecture.md, "Contracts"). */
export class MinikubeCli {
  constructor(
    private readonly binary: string = "minikube",
    private readonly runner: CommandRunner = execFileRunner,
  ) {}

  private async run(args: string[], signal?: AbortSignal, timeoutMs = MINIKUBE_TIMEOUT_MS) {
    try {
      return await this.runner.run(this.binary, args, { timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof CommandNotFoundError) {
        throw new MinikubeError(
          `minikube was not found (looked for "${this.binary}" on PATH); install it or pass --minikube <path>`,
        );
      }
      throw error;
    }
  }

  /** minikube exits non-zero when the node is not running, so the JSON is read whatever the exit code. */
  async status(profile: string, signal?: AbortSignal): Promise<MinikubeStatus> {
    const result = await this.run(["status", "-p", assertProfileName(profile), "-o", "json"], signal);
    let json: unknown;
    try {
      json = JSON.parse(result.stdout);
    } catch {
      const said = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
      throw new MinikubeError(
        `minikube status -p ${profile} gave no JSON (exit ${result.exitCode}${said ? `: ${said}` : ""})`,
      );
    }
    // Multi-node clusters print an array; the control plane comes first and carries the profile's name.
    const nodes = z.union([statusSchema, z.array(statusSchema)]).safeParse(json);
    if (!nodes.success) throw new MinikubeError(`minikube status -p ${profile} printed JSON without a Host field`);
    const list = Array.isArray(nodes.data) ? nodes.data : [nodes.data];
    const node = list.find((n) => n.Name === profile) ?? list[0];
    if (!node) throw new MinikubeError(`minikube status -p ${profile} listed no nodes`);
    return { host: node.Host, ...(node.APIServer !== undefined ? { apiServer: node.APIServer } : {}) };
  }

  async ip(profile: string, signal?: AbortSignal): Promise<string> {
    const result = await this.run(["ip", "-p", assertProfileName(profile)], signal);
    const ip = result.stdout.trim().split(/\s+/)[0] ?? "";
    if (result.exitCode !== 0 || !isValidIp(ip)) {
      const said = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
      throw new MinikubeError(`minikube ip -p ${profile} failed (exit ${result.exitCode}${said ? `: ${said}` : ""})`);
    }
    return ip;
  }
}
