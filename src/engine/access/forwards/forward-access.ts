import { addressAt, parseCidr } from "../../../shared/cidr.js";
import { type ContainerCli, type ContainerEngine, containerEngineOf } from "../../cluster/container-cli.js";
import type { MinikubeCli } from "../../cluster/minikube-cli.js";
import { type ProfileConfig, readProfileConfig } from "../../cluster/profile-config.js";
import type { TunnelLocks } from "../../registry/tunnel-lock.js";
import type { IpPool } from "../../lb/ip-pool.js";
import { AccessBase, type AccessBasics } from "../access-base.js";
import type { AccessSnapshot, ControllerPlan, LinkStatus, ServiceName, ServicesView } from "../cluster-access.js";
import type { RootLoopback } from "../../root/index.js";
import { ForwardListeners, type ForwardSpec } from "./forward-listeners.js";
import { forwardSpecsOf } from "./forward-specs.js";
import { NODE_PORT_ADDRESS, nodePortSpecsOf } from "./node-port-specs.js";
import { resolveNodeTarget } from "./node-target.js";
import type { LinkTarget, SshLinkOptions } from "./reconnecting-link.js";
import type { ForwardCarrier, UdpCarrier } from "./forward-carrier.js";
import { type ForwardLink, type SshClientKind, createForwardLink } from "./forward-link.js";
import type { IngressNames } from "../../ingress/name-types.js";
import { IngressForwards, ingressRangeOf } from "./ingress-forwards.js";
import { UdpRelays } from "./udp-relays.js";

export interface ForwardAccessDeps {
  readonly miniPath: string;
  readonly minikube: MinikubeCli;
  readonly containers: (engine: ContainerEngine) => ContainerCli;
  /** For the link's note in the lock, which `status` from another shell reads. */
  readonly locks: TunnelLocks | null;
  /** The helper, for ports below 1024 and macOS aliases; null when this process is root or has none. */
  readonly privileges: () => RootLoopback | null;
  /**
   * The link and what carries the forwards over it; the SSH client forward-link.ts chooses by default. Tests give a
   * fake.
   */
  readonly createLink?: (resolve: () => Promise<LinkTarget>) => { link: ForwardLink; carrier: ForwardCarrier };
  /** What carries UDP; relay containers beside the node (udp-relays.ts) by default. Tests give a fake. */
  readonly createUdp?: (containers: ContainerCli, log: (line: string) => void) => UdpCarrier;
}

export interface ForwardAccessOptions {
  /** This profile's loopback addresses, one per Service, handed out by the controller (loopback-range.ts). */
  readonly pool: IpPool;
  /** Gives the profile's /16 back to the process when the access is done with it. */
  readonly releasePool?: () => void;
  /** The Ingress and Gateway names' addresses (ingress-forwards.ts); by default the pool's /16's last /24. */
  readonly ingressRange?: string;
  readonly link?: SshLinkOptions;
  /** Which SSH client carries the forwards (forward-link.ts chooses). */
  readonly sshClient?: SshClientKind;
  /** How often a healthy link probes the kubernetes Service through itself. */
  readonly probeIntervalMs?: number;
  /** After a failed probe, the first try again (doubling up to probeIntervalMs): a node just restarted answers soon. */
  readonly probeRetryMs?: number;
  /** Every node port on 127.0.0.1:<nodePort> (on unless false: --no-node-ports, TunnelSettings.nodePorts). */
  readonly nodePorts?: boolean;
  /** How often a blocked tunnel tries minikube's tunnel lock again (route mode's poll interval, 5 s). */
  readonly pollIntervalMs?: number;
}

/**
 * Forward mode (docs/architecture.md, "Forward mode"): for a node the host
 * cannot route to. One SSH link per profile, and for each LoadBalancer
 * Service port a listener on the Service's own loopback address, fed by
 * `servicesChanged` from the controller. Emits `change` and `log`.
 */
export class ForwardAccess extends AccessBase {
  readonly mode = "forward" as const;
  private config: ProfileConfig | null = null;
  private containers: ContainerCli | null = null;
  /** Notes of the link's state in the lock, one after another. */
  private lockNotes: Promise<void> = Promise.resolve();
  private probeTimer: NodeJS.Timeout | undefined;
  /** A failed probe's next try, sooner than the interval; its delay doubles while the probe keeps failing. */
  private probeRetry: NodeJS.Timeout | undefined;
  private probeRetryDelay = 0;
  /** Counts the link's ups: a probe that ends after the link went down and came back says nothing of the new one. */
  private linkUps = 0;
  private specs: readonly ForwardSpec[] = [];
  private applying: Promise<void> = Promise.resolve();
  private applyQueued = false;
  /** The Services last named (their specs at held addresses), so a pass that changes nothing writes nothing. */
  private lastNamed: string | null = null;
  /** Services that came while another tunnel held the profile: applied when this one takes the lock. */
  private servicesHeldBack = false;
  /** Tries the lock while blocked: `minikube tunnel` tells no one when it exits. */
  private lockPoll: NodeJS.Timeout | undefined;
  private takingOver: Promise<void> | null = null;
  private readonly link: ForwardLink;
  private readonly forwards: ForwardListeners;
  /** Node ports on 127.0.0.1, beside the Services' own addresses (node-port-specs.ts). */
  private readonly nodePorts: ForwardListeners;
  private nodePortServices: readonly ServiceName[] = [];
  private readonly ingress: IngressForwards;
  /** UDP's relays beside the node, once this tunnel holds the profile (udp-relays.ts). */
  private udp: UdpCarrier | null = null;

  constructor(
    basics: AccessBasics,
    private readonly deps: ForwardAccessDeps,
    private readonly options: ForwardAccessOptions,
  ) {
    super(basics);
    const resolve = () => this.resolveTarget();
    const { link, carrier } = deps.createLink
      ? deps.createLink(resolve)
      : createForwardLink(options.sshClient ?? "ssh2", resolve, options.link);
    this.link = link;
    this.link.on("log", (line: string) => this.log(line));
    this.link.on("state", (status: LinkStatus) => this.linkChanged(status));
    this.forwards = new ForwardListeners(carrier, deps.privileges, (line) => this.log(line));
    this.nodePorts = new ForwardListeners(carrier, deps.privileges, (line) => this.log(`node port ${line}`));
    // Ingress and Gateway names: listeners of their own on the same carrier (ingress-forwards.ts).
    this.ingress = new IngressForwards({
      carrier,
      privileges: deps.privileges,
      log: (line) => this.log(line),
      servicePool: options.pool,
      range: options.ingressRange ?? ingressRangeOf(options.pool),
      names: this.names,
      changed: () => this.emitChange(),
      serviceHeld: (ip) => this.forwards.holding().held.has(ip),
    });
  }

  override ingressChanged(names: IngressNames): void {
    if (this.phase !== "stopping" && this.phase !== "stopped") void this.ingress.follow(names);
  }

  protected override ingressDetails(): Pick<AccessSnapshot, "ingresses" | "gateways"> {
    return this.ingress.statuses();
  }

  async start(): Promise<void> {
    this.config = await readProfileConfig(this.deps.miniPath, this.profile);
    const engine = containerEngineOf(this.config.driver);
    if (!engine)
      throw new Error(
        `profile "${this.profile}" uses the ${this.config.driver || "unknown"} driver; forward mode needs docker or podman`,
      );
    this.containers = this.deps.containers(engine);
    if (!(await this.holdLock("forwarding", "forwards nothing"))) {
      clearInterval(this.lockPoll);
      this.lockPoll = setInterval(() => void this.takeOver(), this.options.pollIntervalMs ?? 5000);
      return;
    }
    await this.carryUdp();
    this.followHeldBackServices();
    await this.link.start();
    this.emitChange();
  }

  /**
   * UDP from now on, through relays beside the node: the tunnel lock is ours, so relays of this profile that are still
   * there were left by a tunnel killed before its stop, and go.
   */
  private async carryUdp(): Promise<void> {
    const log = (line: string) => this.log(line);
    const relays = this.deps.createUdp?.(this.containers!, log) ?? new UdpRelays(this.containers!, this.profile, log);
    const left = await relays.sweep().catch((error: Error) => {
      this.log(`could not look for UDP relays a killed tunnel left: ${error.message}`);
      return [];
    });
    if (left.length > 0) this.log(`removed UDP relays a killed tunnel left: ${left.join(", ")}`);
    this.udp = relays;
    this.forwards.udp = relays;
    this.nodePorts.udp = relays;
  }

  /**
   * Each Service the controller gave a loopback address of ours: its ports
   * listen there, under its names. While another tunnel holds the profile
   * (blocked), its Services are that tunnel's: nothing listens and no name is
   * written until this one takes the lock.
   */
  override servicesChanged(view: ServicesView): void {
    this.specs = forwardSpecsOf(view.services(), (ip) => this.options.pool.contains(ip));
    if (this.options.nodePorts !== false) this.nodePortServices = view.allServices();
    if (!this.holdsLock) {
      this.servicesHeldBack = true;
      return;
    }
    void this.setServices(this.specs);
  }

  controllerPlan(): ControllerPlan {
    return { mode: "forward", pool: this.options.pool };
  }

  /**
   * The Services to forward, from the LoadBalancer controller; listeners follow at once, a burst of changes in one
   * pass.
   */
  private setServices(specs: readonly ForwardSpec[]): Promise<void> {
    this.specs = specs;
    if (this.applyQueued) return this.applying;
    this.applyQueued = true;
    this.applying = this.applying.then(async () => {
      this.applyQueued = false;
      if (this.phase === "stopping" || this.phase === "stopped") return;
      if (!this.holdsLock) return void (this.servicesHeldBack = true);
      let changed = await this.forwards.apply(this.specs);
      this.nameHeldServices();
      // Node ports: the node's own address, as minikube recorded it; its loopback (kube-proxy answers there too) when
      // the profile does not say.
      const nodeHost = this.config?.nodeIp ?? NODE_PORT_ADDRESS;
      changed = (await this.nodePorts.apply(nodePortSpecsOf(this.nodePortServices, nodeHost))) || changed;
      if (changed) this.emitChange();
    });
    return this.applying;
  }

  /**
   * A Service's names go to its address only while this tunnel holds a listener there (a port listening, none in use
   * by another program): its address is predictable from the profile's name, and another local user who listens there
   * first must never receive this user's traffic (docs/security.md, "The root policy", row Relays).
   */
  private nameHeldServices(): void {
    const { held } = this.forwards.holding();
    const named = this.specs.filter((s) => held.has(s.address));
    const key = JSON.stringify(named);
    if (key !== this.lastNamed) {
      this.lastNamed = key;
      void this.names.forwarded(named);
    }
    this.ingress.servicesChanged();
  }

  async recheck(): Promise<void> {
    if (this.phase === "blocked") return this.takeOver();
    if (this.link.status().state !== "up") await this.link.reconnect();
    // Ports that were in use may be free now.
    await this.setServices(this.specs);
  }

  protected async teardown(): Promise<void> {
    this.phase = "stopping";
    clearInterval(this.lockPoll);
    clearInterval(this.probeTimer);
    clearTimeout(this.probeRetry);
    await this.applying.catch(() => undefined);
    const failures: string[] = [];
    await this.forwards.closeAll().catch((error: Error) => failures.push(`listeners: ${error.message}`));
    await this.nodePorts.closeAll().catch((error: Error) => failures.push(`node port listeners: ${error.message}`));
    await this.ingress.close().catch((error: Error) => failures.push(`ingress listeners: ${error.message}`));
    await this.udp?.removeAll().catch((error: Error) => failures.push(`UDP relays: ${error.message}`));
    await this.link.close();
    this.options.releasePool?.();
    this.phase = "stopped";
    this.probeResult = null;
    this.emitChange();
    if (failures.length > 0) throw new Error(`could not stop forwards of "${this.profile}": ${failures.join("; ")}`);
  }

  protected details(): Omit<AccessSnapshot, "profile" | "mode" | "phase" | "probe" | "names"> {
    return {
      host: this.phase === "waiting-for-node" ? "Stopped" : this.link.status().state === "up" ? "Running" : null,
      nodeIp: null,
      routes: [],
      link: this.link.status(),
      forwards: this.forwards.statuses(),
      ...(this.options.nodePorts !== false ? { nodePorts: this.nodePorts.statuses() } : {}),
    };
  }

  /**
   * The lock, if it is free now, and the tunnel as a start would make it. One
   * try at a time (the poll and a recheck may meet): a second try would open
   * the lock file again and find the first one holding it.
   */
  private takeOver(): Promise<void> {
    this.takingOver ??= this.tryTakeOver().finally(() => (this.takingOver = null));
    return this.takingOver;
  }

  private async tryTakeOver(): Promise<void> {
    if (this.phase !== "blocked" || !(await this.holdLock("forwarding", "forwards nothing"))) return;
    // A stop that came while the lock was being taken releases it; nothing starts.
    if (this.phase !== "blocked") return;
    clearInterval(this.lockPoll);
    // Out of "blocked", which linkChanged ignores: the phase follows the link again, and the lock gets the link's note.
    this.phase = "starting";
    this.linkChanged(this.link.status());
    await this.carryUdp();
    this.followHeldBackServices();
    await this.link.start();
  }

  /** The lock is ours, or there is none to take (tests without one). */
  private get holdsLock(): boolean {
    return this.heldLock !== null || this.basics.locks === null;
  }

  /** The latest Services that came while blocked (or before the lock was taken), forwarded and named now. */
  private followHeldBackServices(): void {
    if (!this.servicesHeldBack) return;
    this.servicesHeldBack = false;
    void this.setServices(this.specs);
  }

  /** Where the node's SSH is now, whose key it must present, and our key: read again for every connect. */
  private resolveTarget(): Promise<LinkTarget> {
    return resolveNodeTarget(this.containers!, this.profile, this.deps.miniPath);
  }

  private linkChanged(status: LinkStatus): void {
    if (this.phase === "stopping" || this.phase === "stopped" || this.phase === "blocked") return;
    const lock = this.heldLock;
    if (lock && this.deps.locks)
      this.lockNotes = this.lockNotes
        .then(() => this.deps.locks!.noteLink(lock, status))
        .catch((error: Error) => this.log(`could not note the link's state in ${lock.path}: ${error.message}`));
    clearTimeout(this.probeRetry);
    this.probeRetryDelay = 0;
    if (status.state === "up") {
      this.phase = "active";
      this.message = undefined;
      this.linkUps++;
      this.probeService();
      clearInterval(this.probeTimer);
      this.probeTimer = setInterval(() => this.probeService(), this.probeIntervalMs);
    } else {
      clearInterval(this.probeTimer);
      this.probeResult = null;
      this.phase =
        status.state === "connecting" ? "starting" : this.link.waitingForNode ? "waiting-for-node" : "retrying";
      if (this.phase === "waiting-for-node")
        void this.udp
          ?.nodeGone()
          .catch((error: Error) => this.log(`could not remove the UDP relays: ${error.message}`));
      this.message = this.link.waitingForNode
        ? `waiting for the node (${status.error ?? "not running"})`
        : status.error;
    }
    this.emitChange();
  }

  private get probeIntervalMs(): number {
    return this.options.probeIntervalMs ?? 60_000;
  }

  /**
   * A failed probe on a link that is up tries again soon, then less often: after `docker restart` the link is back in
   * seconds, before the node's API server and kube-proxy answer, and the interval would show that failure for a minute.
   */
  private retryProbe(ok: boolean): void {
    clearTimeout(this.probeRetry);
    if (ok) return void (this.probeRetryDelay = 0);
    this.probeRetryDelay = this.probeRetryDelay ? this.probeRetryDelay * 2 : (this.options.probeRetryMs ?? 1000);
    if (this.probeRetryDelay >= this.probeIntervalMs) return;
    this.probeRetry = setTimeout(() => this.probeService(), this.probeRetryDelay);
  }

  /** The kubernetes Service through the link: proves the node forwards, as route mode's probe proves the route. */
  private probeService(): void {
    if (!this.config) return;
    const host = addressAt(parseCidr(this.config.serviceCidr), 1n);
    const started = performance.now();
    const target = `${host}:443`;
    const up = this.linkUps;
    const done = (ok: boolean, error?: string) => {
      if (this.phase !== "active" || up !== this.linkUps) return;
      this.retryProbe(ok);
      this.recordProbe(
        {
          target,
          ok,
          checkedAt: new Date().toISOString(),
          ...(ok ? { latencyMs: Math.round(performance.now() - started) } : { error: error ?? "failed" }),
        },
        " through the link",
      );
    };
    this.link.probe(host, 443).then(
      () => done(true),
      (error: Error) => done(false, error.message),
    );
  }
}
