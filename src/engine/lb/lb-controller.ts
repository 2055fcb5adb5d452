import { EventEmitter } from "node:events";
import { ipFamily } from "../../shared/cidr.js";
import { type Json, KubeApiError, type KubeApi } from "../kube/kube-http.js";
import { jitteredBackoff } from "./backoff.js";
import type { IpPool } from "./ip-pool.js";
import { EventRecorder } from "./event-recorder.js";
import { releaseExternalIps, servicePath } from "./external-ip-release.js";
import {
  ASSIGNED_ANNOTATION,
  type ExternalIpEntry,
  type LbService,
  type ManagedService,
  clusterIpExternalIps,
  inScope,
  externalIpsMatch,
  ownership,
  requestedIps,
  serviceKey,
  toLbService,
  toManagedService,
} from "./lb-service.js";
import { ServiceInformer } from "./service-informer.js";
import { WorkQueue } from "./work-queue.js";

/**
 * clusterip: the ClusterIPs, as VIPs. pool: an address from a routed pool.
 * forward: a loopback address of this machine from the profile's forward
 * range, with ipMode Proxy (traffic arrives through our forwarder, so
 * kube-proxy must not treat the address as a VIP).
 */
export type LbMode = "clusterip" | "pool" | "forward";

export interface LbControllerOptions {
  readonly mode: LbMode;
  readonly pool?: IpPool;
  /** Our loadBalancerClass; Services with another class are left to their controller. */
  readonly className?: string | null;
  /** On stop, remove the external IPs we set (only if unchanged). On by default. */
  readonly releaseOnStop?: boolean;
  readonly concurrency?: number;
  readonly emitEvents?: boolean;
}

/**
 * Gives LoadBalancer Services an external IP (docs/architecture.md, "The LoadBalancer controller"): the ClusterIP by
 * default, or an address from a pool. Watch-driven; writes only the status
 * subresource, with the resourceVersion as a precondition; never touches an
 * external IPs it did not set. Emits `changed` whenever `services()` may differ,
 * `assigned` after each status write, and `log`.
 */
export class LoadBalancerController extends EventEmitter {
  private readonly cache = new Map<string, LbService>();
  private readonly pending = new Map<string, string>();
  /**
   * resourceVersions are opaque: they are never compared for order. After our
   * own write we know its version; watch events for that Service up to that
   * version are older than what we hold and are skipped, and the event that
   * carries it ends the wait. The last version the watch showed per Service
   * covers an event that arrives before the write's answer.
   */
  private readonly awaiting = new Map<string, string>();
  private readonly lastSeen = new Map<string, string>();
  private readonly informer: ServiceInformer;
  private readonly queue: WorkQueue;
  private readonly events: EventRecorder;
  private readonly className: string | null;
  private stopping = false;
  writes = 0;

  constructor(
    private readonly client: KubeApi,
    private readonly options: LbControllerOptions,
  ) {
    super();
    if (options.mode !== "clusterip" && !options.pool) throw new Error(`${options.mode} mode needs a pool`);
    this.className = options.className ?? null;
    this.queue = new WorkQueue((key) => this.reconcile(key), options.concurrency ?? 64);
    this.events = new EventRecorder(client, options.emitEvents !== false, () => this.queue.quiet);
    this.queue.onQuiet(() => this.events.pump());
    this.informer = new ServiceInformer(client, {
      onList: (objects) => this.onList(objects),
      onEvent: (type, object) => this.onEvent(type, object),
      onError: (error, wait) => this.emit("log", `Kubernetes API: ${(error as Error).message}; retrying in ${wait} ms`),
      onReconnect: () =>
        this.emit(
          "log",
          "the kubeconfig now names another API server or credentials (cluster restarted?): reconnected, reading everything again",
        ),
    });
  }

  /**
   * Starts watching; resolves once the first list has been processed, after `syncTimeoutMs` while the API is
   * unreachable, or when `signal` fires.
   */
  async start(syncTimeoutMs = 10_000, signal?: AbortSignal): Promise<void> {
    this.informer.start();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.informer.firstSync.then(() => this.queue.idle()),
      new Promise((r) => (timer = setTimeout(r, syncTimeoutMs))),
      new Promise((r) => signal?.addEventListener("abort", r, { once: true })),
    ]);
    clearTimeout(timer);
  }

  /** Waits until every queued Service has been handled. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Stops watching and takes back what we set; bounded by `limitMs`, so quit and SIGTERM never hang on an API that went
   * away. 8 s of the app's 10 s quit limit (src/main/lifecycle/quit-sequence.ts): ProfileTunnel.stop() stops the
   * controller first and its access after, so the access keeps about 2 s to take back routes, names and the lock
   * (profiles stop side by side, each with its own budget). What runs out of time is taken back anyway: the helper
   * clears a closed client's routes and names, and `mktunnel cleanup` the external IPs.
   */
  async stop(limitMs = 8000): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>(
      (resolve) =>
        (timer = setTimeout(() => {
          this.emit(
            "log",
            `stopping took longer than ${limitMs} ms; some external IPs may be left (mktunnel cleanup takes them back)`,
          );
          resolve();
        }, limitMs)),
    );
    await Promise.race([
      (async () => {
        await this.informer.stop();
        await this.queue.drain();
        if (this.options.releaseOnStop !== false) await this.releaseAll();
        await this.events.flush();
      })(),
      limit,
    ]);
    clearTimeout(timer);
  }

  /** Every Service the watch holds, of any type: names for route mode's hosts-file way, node ports for forward mode's. */
  allServices(): {
    namespace: string;
    name: string;
    clusterIPs: readonly string[];
    nodePorts?: { port: number; nodePort: number; protocol: string }[];
  }[] {
    return [...this.cache.values()].map((s) => {
      const nodePorts = s.ports.flatMap((p) =>
        p.nodePort ? [{ port: p.port, nodePort: p.nodePort, protocol: p.protocol }] : [],
      );
      return {
        namespace: s.namespace,
        name: s.name,
        clusterIPs: s.clusterIPs,
        ...(nodePorts.length > 0 ? { nodePorts } : {}),
      };
    });
  }

  services(): ManagedService[] {
    return [...this.cache.values()]
      .filter((s) => s.type === "LoadBalancer")
      .map((s) => toManagedService(s, this.pending.get(s.key)));
  }

  stats() {
    return {
      lists: this.informer.lists,
      watches: this.informer.watches,
      writes: this.writes,
      events: this.events.sent,
      eventsDropped: this.events.dropped,
      cached: this.cache.size,
    };
  }

  private onList(objects: Json[]): void {
    const seen = new Set<string>();
    this.awaiting.clear();
    this.lastSeen.clear();
    const fresh = objects.map(toLbService);
    // Rebuild pool allocations from what we already set before assigning anything new, so no IP is handed out twice.
    if (this.options.pool)
      for (const s of fresh)
        if (inScope(s, this.className) && ownership(s) === "ours")
          for (const ip of s.assigned ?? []) this.options.pool.claim(ip, s.key);
    for (const s of fresh) {
      seen.add(s.key);
      this.cache.set(s.key, s);
      this.queue.add(s.key);
    }
    for (const key of [...this.cache.keys()]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.queue.add(key);
      }
    }
    this.emit("changed");
  }

  private onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: Json): void {
    const service = toLbService(object);
    this.lastSeen.set(service.key, service.resourceVersion);
    if (type === "DELETED") {
      this.awaiting.delete(service.key);
      this.cache.delete(service.key);
    } else {
      const waitingFor = this.awaiting.get(service.key);
      if (waitingFor !== undefined) {
        // Up to our write's own event, the stream shows versions older than the one we hold.
        if (waitingFor === service.resourceVersion) this.awaiting.delete(service.key);
        return;
      }
      this.cache.set(service.key, service);
    }
    this.queue.add(service.key);
    this.emit("changed");
  }

  private async reconcile(key: string): Promise<void> {
    if (this.stopping) return;
    const service = this.cache.get(key);
    if (!service || !inScope(service, this.className)) {
      this.pending.delete(key);
      const freed = this.options.pool?.release(key) ?? 0;
      if (service && freed > 0)
        this.events.record(
          service,
          "Normal",
          "IPReleased",
          `released pool address(es); the Service is no longer ours to serve (type ${service.type})`,
        );
      if (freed > 0) this.retryPending();
      return;
    }
    const own = ownership(service);
    if (own === "foreign") {
      this.pending.delete(key);
      if ((this.options.pool?.release(key) ?? 0) > 0) this.retryPending();
      return;
    }
    const desired = this.options.mode === "clusterip" ? clusterIpExternalIps(service) : this.poolExternalIps(service);
    if (desired === null || desired.length === 0) return;
    if (externalIpsMatch(service, desired)) return;
    await this.write(service, desired);
  }

  /**
   * Pool and forward mode: requested addresses if given (and valid), else the
   * next free one; null leaves the Service pending. In forward mode only a
   * requested address inside the loopback range can be honoured; others are
   * not an error there, since no routed address can reach this machine.
   */
  private poolExternalIps(service: LbService): ExternalIpEntry[] | null {
    const pool = this.options.pool!;
    const ipMode = this.options.mode === "forward" ? "Proxy" : "VIP";
    const requested = requestedIps(service).filter((ip) => this.options.mode !== "forward" || pool.contains(ip));
    const held = pool.allocated(service.key);
    if (requested.length > 0) {
      if (held.length > 0 && held.some((ip) => !requested.includes(ip))) pool.release(service.key);
      for (const ip of requested) {
        const result = pool.claim(ip, service.key);
        if (result !== "ok") {
          pool.release(service.key);
          const why =
            result === "outside-pool"
              ? `requested IP ${ip} is outside the pool ${pool.spec.join(", ")}`
              : `requested IP ${ip} is already assigned to ${pool.ownerOf(ip)}`;
          return this.markPending(service, why);
        }
      }
      this.pending.delete(service.key);
      return requested.map((ip) => ({ ip, ipMode }));
    }
    if (held.length > 0) return held.map((ip) => ({ ip, ipMode }));
    const family = service.clusterIPs[0] ? ipFamily(service.clusterIPs[0]) : undefined;
    const ip = pool.allocate(service.key, family) ?? pool.allocate(service.key);
    if (ip === null) return this.markPending(service, `no free address in pool ${pool.spec.join(", ")}`);
    this.pending.delete(service.key);
    return [{ ip, ipMode }];
  }

  private markPending(service: LbService, why: string): null {
    if (this.pending.get(service.key) !== why) this.events.record(service, "Warning", "AllocationFailed", why);
    this.pending.set(service.key, why);
    this.emit("changed");
    return null;
  }

  private retryPending(): void {
    for (const key of this.pending.keys()) this.queue.add(key);
  }

  /** One merge patch of the status subresource, with resourceVersion as a precondition; 409 → read again and retry. */
  private async write(service: LbService, desired: ExternalIpEntry[]): Promise<void> {
    const body = {
      metadata: {
        resourceVersion: service.resourceVersion,
        annotations: { [ASSIGNED_ANNOTATION]: desired.map((d) => d.ip).join(",") },
      },
      // `status.loadBalancer.ingress` is the API's field for a Service's external IPs.
      status: { loadBalancer: { ingress: desired } },
    };
    try {
      this.writes++;
      const { body: updated } = await this.client.call<Json>(
        "PATCH",
        `${servicePath(service)}/status`,
        body,
        "application/merge-patch+json",
      );
      this.accept(updated, true);
      this.events.record(
        service,
        "Normal",
        "IPAllocated",
        `assigned ${desired.map((d) => d.ip).join(", ")} (${this.options.mode} mode)`,
      );
      this.emit("assigned", service.key, desired);
    } catch (error) {
      await this.handleWriteError(service, error);
    }
  }

  /** Our write's answer (or a fresh read after a conflict) becomes the cached object. */
  private accept(object: Json, ownWrite = false): void {
    const next = toLbService(object);
    this.cache.set(next.key, next);
    if (ownWrite && this.lastSeen.get(next.key) !== next.resourceVersion)
      this.awaiting.set(next.key, next.resourceVersion);
    this.emit("changed");
  }

  private async handleWriteError(service: LbService, error: unknown): Promise<void> {
    if (error instanceof KubeApiError && error.status === 409) {
      try {
        const { body } = await this.client.call<Json>("GET", servicePath(service));
        this.accept(body);
      } catch (getError) {
        if (getError instanceof KubeApiError && getError.status === 404) {
          this.cache.delete(service.key);
        }
      }
      this.queue.add(service.key);
      return;
    }
    if (error instanceof KubeApiError && error.status === 404) {
      this.cache.delete(service.key);
      this.queue.add(service.key);
      return;
    }
    if (error instanceof KubeApiError && error.status === 422) {
      this.markPending(service, `the API server refused the status: ${error.message}`);
      return;
    }
    this.queue.addAfter(service.key, jitteredBackoff(this.queue.failures(service.key)));
  }

  /** Stop: take back only what we set and is still as we set it; a changed object (409) is re-read and re-judged. */
  private async releaseAll(): Promise<void> {
    const ours = [...this.cache.values()].filter((s) => ownership(s) === "ours");
    await Promise.all(ours.map((s) => this.release(s)));
  }

  private async release(service: LbService): Promise<void> {
    try {
      this.writes++;
      if ((await releaseExternalIps(this.client, service)) === "released") this.options.pool?.release(service.key);
    } catch (error) {
      this.emit("log", `could not release ${service.key}: ${(error as Error).message}`);
    }
  }
}

export { serviceKey, type ManagedService };
