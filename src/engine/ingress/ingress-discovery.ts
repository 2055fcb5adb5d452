import { EventEmitter } from "node:events";
import type { Json, KubeApi } from "../kube/kube-http.js";
import { type ClusterObjects, mapNames } from "./cluster-names.js";
import { Coalescer } from "./coalescer.js";
import { INGRESS_CONTROLLERS, type IngressControllerKind, catalogSelector } from "./controller-catalog.js";
import { type GatewayApiKind, GatewayApiPoller, type ServedKind } from "./gateway-api-kinds.js";
import { GATEWAY_NAME_LABEL } from "./gateway-mapping.js";
import {
  type GatewayView,
  ROUTE_KINDS,
  type RouteKind,
  type RouteView,
  parseGateway,
  routeParser,
} from "./gateway-views.js";
import type { IngressNames, IngressNamesChange } from "./name-types.js";
import { diffNames, isEmptyDiff, unmappedChanged } from "./names-diff.js";
import {
  type IngressClassView,
  type IngressView,
  type PodView,
  type ServiceView,
  parseIngress,
  parseIngressClass,
  parsePod,
  parseService,
} from "./object-views.js";
import { type CollectionHandlers, WatchedCollection } from "./watched-collection.js";

export interface IngressDiscoveryOptions {
  /** How long after the first change of a burst the names are recomputed; 100 ms by default. */
  readonly debounceMs?: number;
  /** At most one Gateway API discovery poll per interval; a minute by default (tests shorten it). */
  readonly discoveryIntervalMs?: number;
  readonly controllers?: readonly IngressControllerKind[];
}

const selected = (path: string, selector: string) => `${path}?labelSelector=${encodeURIComponent(selector)}`;

/**
 * One profile's Ingress and Gateway names, followed live (docs/architecture.md, "Ingress and Gateway names"). It
 * watches Ingresses, IngressClasses, and only the pods and Services of the ingress controllers it knows (a label
 * selector); when the Gateway API CRDs are served, also Gateways, HTTP/GRPC/TLS routes and the Services labelled
 * with a Gateway's name. Each burst of changes gives one recomputation (`mapNames`, pure) and, if the names
 * changed, one `changed` event with an IngressNamesChange. Emits `log` lines too.
 */
export class IngressDiscovery extends EventEmitter {
  private readonly catalog: readonly IngressControllerKind[];
  private readonly ingresses: WatchedCollection<IngressView>;
  private readonly classes: WatchedCollection<IngressClassView>;
  private readonly pods: WatchedCollection<PodView>;
  private readonly controllerServices: WatchedCollection<ServiceView>;
  private gateways: WatchedCollection<GatewayView> | null = null;
  private gatewayServices: WatchedCollection<ServiceView> | null = null;
  private readonly routes = new Map<RouteKind, WatchedCollection<RouteView>>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly poller: GatewayApiPoller;
  private readonly coalescer: Coalescer;
  private readonly handlers: CollectionHandlers;
  private current: IngressNames = { entries: [], unmapped: [] };
  private ready = false;
  private stopped = false;
  private readonly halted = new AbortController();
  recomputes = 0;

  constructor(
    private readonly api: KubeApi,
    options: IngressDiscoveryOptions = {},
  ) {
    super();
    this.catalog = options.controllers ?? INGRESS_CONTROLLERS;
    this.coalescer = new Coalescer(options.debounceMs ?? 100, () => this.recompute());
    this.handlers = {
      changed: () => {
        if (this.ready && !this.stopped) this.coalescer.poke();
      },
      log: (line) => this.emit("log", line),
      notFound: () => this.poller.wake(),
      reconnected: () => {
        this.emit("log", "the kubeconfig names another API server (cluster restarted?): reading everything again");
        this.poller.wake();
      },
    };
    const bySelector = catalogSelector(this.catalog);
    this.ingresses = this.collection("/apis/networking.k8s.io/v1/ingresses", parseIngress);
    this.classes = this.collection("/apis/networking.k8s.io/v1/ingressclasses", parseIngressClass);
    this.pods = this.collection(selected("/api/v1/pods", bySelector), parsePod);
    this.controllerServices = this.collection(selected("/api/v1/services", bySelector), parseService);
    this.poller = new GatewayApiPoller(api, {
      ...(options.discoveryIntervalMs !== undefined ? { intervalMs: options.discoveryIntervalMs } : {}),
      onKinds: (kinds) => this.followKinds(kinds),
      onError: (error) => this.emit("log", `Gateway API discovery: ${(error as Error).message}`),
    });
  }

  private collection<T>(path: string, parse: (o: Json) => T | null): WatchedCollection<T> {
    return new WatchedCollection(this.api, path, parse, this.handlers);
  }

  private get core(): WatchedCollection<unknown>[] {
    return [this.ingresses, this.classes, this.pods, this.controllerServices];
  }

  private get gatewayCollections(): WatchedCollection<unknown>[] {
    return [this.gateways, this.gatewayServices, ...this.routes.values()].filter((c) => c !== null);
  }

  /**
   * Starts every watch; resolves once the first lists (and the first Gateway API discovery) are in and the first
   * names are computed, after `syncTimeoutMs` while the API cannot be reached, or when `signal` fires.
   */
  async start(syncTimeoutMs = 10_000, signal?: AbortSignal): Promise<void> {
    for (const c of this.core) c.start();
    this.poller.start();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      (async () => {
        await Promise.all(this.core.map((c) => c.firstSync));
        await this.poller.firstPoll;
        await Promise.all(this.gatewayCollections.map((c) => c.firstSync));
      })(),
      new Promise((r) => (timer = setTimeout(r, syncTimeoutMs))),
      new Promise((r) => signal?.addEventListener("abort", r, { once: true })),
      new Promise((r) => this.halted.signal.addEventListener("abort", r, { once: true })),
    ]);
    clearTimeout(timer);
    if (this.stopped) return;
    this.ready = true;
    this.recompute();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.halted.abort();
    this.coalescer.cancel();
    await this.poller.stop();
    await Promise.all([...this.core, ...this.gatewayCollections].map((c) => c.stop()));
    await Promise.all(this.stopping);
  }

  /** The names as last computed. */
  names(): IngressNames {
    return this.current;
  }

  /** The Gateway API kinds being watched, with their paths; empty while the CRDs are not installed. */
  gatewayApi(): { kind: GatewayApiKind; path: string }[] {
    return [
      ...(this.gateways ? [{ kind: "Gateway" as const, path: this.gateways.path }] : []),
      ...[...this.routes].map(([kind, c]) => ({ kind, path: c.path })),
    ];
  }

  stats() {
    const all = [...this.core, ...this.gatewayCollections].map((c) => c.stats);
    return {
      lists: all.reduce((n, s) => n + s.lists, 0),
      watches: all.reduce((n, s) => n + s.watches, 0),
      collections: all.length,
      discoveryPolls: this.poller.polls,
      recomputes: this.recomputes,
    };
  }

  private retire(collection: WatchedCollection<unknown> | null | undefined): void {
    if (!collection) return;
    const stopped = collection.stop().finally(() => this.stopping.delete(stopped));
    this.stopping.add(stopped);
  }

  /** The same collection while the kind is served at the same path; a new one for a new path; null when gone. */
  private follow<T>(
    held: WatchedCollection<T> | null,
    served: { readonly path: string } | undefined,
    parse: (o: Json) => T | null,
  ): WatchedCollection<T> | null {
    if (held && served && held.path === served.path) return held;
    this.retire(held);
    if (!served || this.stopped) return null;
    const fresh = this.collection(served.path, parse);
    fresh.start();
    return fresh;
  }

  /** The poller's answer: watch what is served now, stop watching what no longer is. */
  private followKinds(kinds: Map<GatewayApiKind, ServedKind>): void {
    const before = this.gatewayCollections.length;
    const watched = () => this.gatewayApi().map((k) => `${k.kind} (${k.path})`);
    const was = watched().join(", ");
    this.gateways = this.follow(this.gateways, kinds.get("Gateway"), parseGateway);
    const services = kinds.has("Gateway") ? { path: selected("/api/v1/services", GATEWAY_NAME_LABEL) } : undefined;
    this.gatewayServices = this.follow(this.gatewayServices, services, parseService);
    for (const kind of ROUTE_KINDS) {
      const next = this.follow(this.routes.get(kind) ?? null, kinds.get(kind), routeParser(kind));
      if (next) this.routes.set(kind, next);
      else this.routes.delete(kind);
    }
    const now = watched().join(", ");
    if (now !== was) this.emit("log", `Gateway API: watching ${now || "nothing (the CRDs are not installed)"}`);
    // A kind that went away takes its names with it; a new one brings them with its first list.
    if (this.gatewayCollections.length < before) this.handlers.changed();
  }

  private objects(): ClusterObjects {
    return {
      ingresses: this.ingresses.values(),
      classes: this.classes.values(),
      pods: this.pods.values(),
      controllerServices: this.controllerServices.values(),
      gateways: this.gateways?.values() ?? [],
      routes: [...this.routes.values()].flatMap((c) => c.values()),
      gatewayServices: this.gatewayServices?.values() ?? [],
    };
  }

  private recompute(): void {
    if (this.stopped) return;
    this.recomputes++;
    const next = mapNames(this.objects(), this.catalog);
    const diff = diffNames(this.current, next);
    const unmapped = unmappedChanged(this.current, next);
    this.current = next;
    if (isEmptyDiff(diff) && !unmapped) return;
    const change: IngressNamesChange = { ...diff, unmappedChanged: unmapped, names: next };
    this.emit("changed", change);
  }
}
