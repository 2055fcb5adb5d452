import { EventEmitter } from "node:events";
import { dirname, join } from "node:path";
import { addressAt, parseCidr } from "../../../shared/cidr.js";
import { type ContainerCli, type ContainerEngine, containerEngineOf } from "../../cluster/container-cli.js";
import type { MinikubeCli } from "../../cluster/minikube-cli.js";
import { type ProfileConfig, readProfileConfig } from "../../cluster/profile-config.js";
import { type LockHolder, type TunnelLocks, describeHolder } from "../../registry/tunnel-lock.js";
import { readFile } from "node:fs/promises";
import { fileAccessFor } from "../../root/index.js";
import type { HeldLock } from "../../system/file-lock.js";
import type { AccessPhase, AccessSnapshot, ClusterAccess, LinkStatus } from "../cluster-access.js";
import type { ProbeResult } from "../reachability-probe.js";
import { ForwardListeners, type ForwardSpec, type LoopbackPrivileges } from "./forward-listeners.js";
import { parseHostKeys } from "./host-keys.js";
import { type LinkTarget, LinkUnavailable, type SshLinkOptions } from "./reconnecting-link.js";
import { type ForwardLink, type SshClientKind, createForwardLink } from "./forward-link.js";

export interface ForwardAccessDeps {
  readonly miniPath: string;
  readonly minikube: MinikubeCli;
  readonly containers: (engine: ContainerEngine) => ContainerCli;
  readonly locks: TunnelLocks | null;
  /** The helper, for ports below 1024 and macOS aliases; null when this process is root or has none. */
  readonly privileges: () => LoopbackPrivileges | null;
}

export interface ForwardAccessOptions {
  readonly profile: string;
  readonly link?: SshLinkOptions;
  /** Which SSH client carries the forwards (forward-link.ts chooses). */
  readonly sshClient?: SshClientKind;
  /** How often a healthy link probes the kubernetes Service through itself. */
  readonly probeIntervalMs?: number;
}

/** minikube's node image logs in as `docker` with the key minikube made for the machine. */
export const NODE_USER = "docker";

/** Root (`sudo mktunnel`) reads the user's key without following links they could plant; the user reads their own file as is. */
async function readLoginKey(path: string): Promise<Buffer> {
  const files = await fileAccessFor(dirname(path));
  if (files.strict) return Buffer.from((await files.readSecret(path, 16_384)).text);
  return readFile(path);
}

/**
 * Forward mode (docs/architecture.md, "Forward mode"): for a node the host
 * cannot route to. One SSH link per profile, and for each LoadBalancer
 * Service port a listener on the Service's own loopback address, fed by
 * `setServices` from the controller. Emits `change` and `log`.
 */
export class ForwardAccess extends EventEmitter implements ClusterAccess {
  readonly mode = "forward" as const;
  readonly profile: string;
  private phase: AccessPhase = "starting";
  private config: ProfileConfig | null = null;
  private containers: ContainerCli | null = null;
  private message: string | undefined;
  private lock: HeldLock | null = null;
  /** Notes of the link's state in the lock, one after another. */
  private lockNotes: Promise<void> = Promise.resolve();
  private probeResult: ProbeResult | null = null;
  private probeTimer: NodeJS.Timeout | undefined;
  private specs: readonly ForwardSpec[] = [];
  private applying: Promise<void> = Promise.resolve();
  private applyQueued = false;
  private lastEmitted = "";
  private readonly link: ForwardLink;
  private readonly forwards: ForwardListeners;

  constructor(
    private readonly deps: ForwardAccessDeps,
    private readonly options: ForwardAccessOptions,
  ) {
    super();
    this.profile = options.profile;
    const { link, carrier } = createForwardLink(options.sshClient ?? "ssh2", () => this.resolveTarget(), options.link);
    this.link = link;
    this.link.on("log", (line: string) => this.log(line));
    this.link.on("state", (status: LinkStatus) => this.linkChanged(status));
    this.forwards = new ForwardListeners(carrier, deps.privileges, (line) => this.log(line));
  }

  async start(): Promise<void> {
    this.config = await readProfileConfig(this.deps.miniPath, this.profile);
    const engine = containerEngineOf(this.config.driver);
    if (!engine) throw new Error(`profile "${this.profile}" uses the ${this.config.driver || "unknown"} driver; forward mode needs docker or podman`);
    this.containers = this.deps.containers(engine);
    if (!(await this.holdLock())) return;
    await this.link.start();
    this.emitChange();
  }

  /** The Services to forward, from the LoadBalancer controller; listeners follow at once, a burst of changes in one pass. */
  setServices(specs: readonly ForwardSpec[]): Promise<void> {
    this.specs = specs;
    if (this.applyQueued) return this.applying;
    this.applyQueued = true;
    this.applying = this.applying.then(async () => {
      this.applyQueued = false;
      if (this.phase === "stopping" || this.phase === "stopped") return;
      if (await this.forwards.apply(this.specs)) this.emitChange();
    });
    return this.applying;
  }

  async recheck(): Promise<void> {
    if (this.phase === "blocked") {
      if (await this.holdLock()) await this.link.start();
      return;
    }
    if (this.link.status().state !== "up") await this.link.reconnect();
    // Ports that were in use may be free now.
    await this.setServices(this.specs);
  }

  async stop(): Promise<void> {
    this.phase = "stopping";
    clearInterval(this.probeTimer);
    await this.applying.catch(() => undefined);
    const failures: string[] = [];
    await this.forwards.closeAll().catch((error: Error) => failures.push(`listeners: ${error.message}`));
    await this.link.close();
    await this.lock?.release().catch(() => undefined);
    this.lock = null;
    this.phase = "stopped";
    this.probeResult = null;
    this.emitChange();
    if (failures.length > 0) throw new Error(`could not stop forwards of "${this.profile}": ${failures.join("; ")}`);
  }

  snapshot(): AccessSnapshot {
    return {
      profile: this.profile,
      mode: this.mode,
      phase: this.phase,
      host: this.phase === "waiting-for-node" ? "Stopped" : this.link.status().state === "up" ? "Running" : null,
      nodeIp: null,
      routes: [],
      probe: this.probeResult,
      link: this.link.status(),
      forwards: this.forwards.statuses(),
      ...(this.message ? { message: this.message } : {}),
    };
  }

  /** Where the node's SSH is now, whose key it must present, and our key: read again for every connect. */
  private async resolveTarget(): Promise<LinkTarget> {
    const containers = this.containers!;
    const published = await containers.sshPort(this.profile);
    if (!published) throw new LinkUnavailable(`the node's container "${this.profile}" is not running`, true);
    // The node's own key files, read by the container engine, which knows which container is the node. Not
    // `minikube ssh-host`: it is ssh-keyscan of the same published port, so it pins whoever answers there.
    const hostKeys = parseHostKeys(await containers.hostPublicKeys(this.profile).catch(() => ""));
    if (hostKeys.length === 0) throw new LinkUnavailable(`cannot learn the node's SSH host key (${containers.engine} exec ${this.profile} could not read its key files); not connecting to an unverified host`, false);
    const keyPath = join(this.deps.miniPath, "machines", this.profile, "id_rsa");
    const privateKey = await readLoginKey(keyPath).catch((error: Error) => Promise.reject(new LinkUnavailable(`cannot read the node's login key ${keyPath}: ${error.message}`, false)));
    return { host: published.host, port: published.port, username: NODE_USER, privateKey, hostKeys };
  }

  private linkChanged(status: LinkStatus): void {
    if (this.phase === "stopping" || this.phase === "stopped" || this.phase === "blocked") return;
    const lock = this.lock;
    if (lock && this.deps.locks) this.lockNotes = this.lockNotes.then(() => this.deps.locks!.noteLink(lock, status)).catch((error: Error) => this.log(`could not note the link's state in ${lock.path}: ${error.message}`));
    if (status.state === "up") {
      this.phase = "active";
      this.message = undefined;
      this.probeService();
      clearInterval(this.probeTimer);
      this.probeTimer = setInterval(() => this.probeService(), this.options.probeIntervalMs ?? 60_000);
    } else {
      clearInterval(this.probeTimer);
      this.probeResult = null;
      this.phase = status.state === "connecting" ? "starting" : this.link.waitingForNode ? "waiting-for-node" : "retrying";
      this.message = this.link.waitingForNode ? `waiting for the node (${status.error ?? "not running"})` : status.error;
    }
    this.emitChange();
  }

  /** The kubernetes Service through the link: proves the node forwards, as route mode's probe proves the route. */
  private probeService(): void {
    if (!this.config) return;
    const host = addressAt(parseCidr(this.config.serviceCidr), 1n);
    const started = performance.now();
    const target = `${host}:443`;
    const done = (ok: boolean, error?: string) => {
      if (this.phase !== "active") return;
      if (this.probeResult?.ok !== ok) this.log(ok ? `probe of ${target} through the link answers` : `probe of ${target} through the link failed: ${error}`);
      this.probeResult = { target, ok, checkedAt: new Date().toISOString(), ...(ok ? { latencyMs: Math.round(performance.now() - started) } : { error: error ?? "failed" }) };
      this.emitChange();
    };
    this.link.probe(host, 443).then(
      () => done(true),
      (error: Error) => done(false, error.message),
    );
  }

  /** minikube's tunnel lock, as in route mode: `minikube tunnel` would overwrite the same external IPs. */
  private async holdLock(): Promise<boolean> {
    if (this.lock || !this.deps.locks) return true;
    const result = await this.deps.locks.acquire(this.profile);
    if ("release" in result) {
      this.lock = result;
      if (this.phase === "blocked") this.phase = "starting";
      return true;
    }
    const why = describeHolder(result as LockHolder);
    if (this.phase !== "blocked") this.log(`${why}; not forwarding while it runs`);
    this.phase = "blocked";
    this.message = `${why}; this tunnel waits and forwards nothing`;
    this.emitChange();
    return false;
  }

  private log(line: string): void {
    this.emit("log", line);
  }

  private emitChange(): void {
    const snapshot = this.snapshot();
    const key = JSON.stringify({ ...snapshot, probe: snapshot.probe ? { ok: snapshot.probe.ok, error: snapshot.probe.error } : null });
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    this.emit("change", snapshot);
  }
}
