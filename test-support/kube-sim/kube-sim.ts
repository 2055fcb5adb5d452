import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { kubeconfigYaml, makeCertificates, type SimCertificates } from "./certs.js";
import { type Route, discoveryDocument, parsePath } from "./api-paths.js";
import { type Faults, noFaults } from "./faults.js";
import { ApiError, KINDS, type KubeObject, ObjectStore } from "./object-store.js";
import { applyPatch } from "./patches.js";
import { type ResourceKind, groupVersion } from "./resource-kinds.js";
import { selectorMatcher } from "./selectors.js";
import { ServiceAllocator } from "./service-rules.js";
import { type WatchParams, WatchStream } from "./watch-stream.js";

export interface KubeSimOptions {
  readonly profile?: string;
  readonly serviceCidr?: string;
  readonly historyLimit?: number;
  readonly bookmarkIntervalMs?: number;
  /** Hand out resourceVersions that are not numbers (they are opaque by contract). */
  readonly opaqueResourceVersions?: boolean;
  /** CRDs installed from the start, by plural (GATEWAY_API_STANDARD, GATEWAY_API_EXPERIMENTAL). */
  readonly crds?: readonly string[];
}

export interface RequestCounts {
  total: number;
  reads: number;
  watches: number;
  writes: number;
  byVerb: Record<string, number>;
}

function readBody(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new ApiError(413, "RequestEntityTooLarge", "request body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseObject(body: string, contentType: string): KubeObject {
  try {
    const value: unknown = contentType.includes("yaml") ? parseYaml(body) : JSON.parse(body);
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value as KubeObject;
  } catch (error) {
    throw new ApiError(400, "BadRequest", `error decoding request body: ${(error as Error).message}`);
  }
}

export { fieldMatcher, labelMatcher } from "./selectors.js";

/**
 * A protocol-faithful apiserver for tests (docs/architecture.md, "Tests"): core/v1 Services, Nodes, Namespaces,
 * Events and Pods, networking.k8s.io/v1 Ingresses and IngressClasses, and Gateway API's kinds as CRDs that tests
 * install and remove while it runs (`installCrds`, `removeCrds`), all behind API discovery. HTTPS with
 * client-certificate authentication, list/watch with resourceVersions, label and field selectors and bookmarks, 410
 * on compacted history, status subresources, three patch types, optimistic concurrency, and fault switches.
 */
export class KubeSim {
  readonly store: ObjectStore;
  readonly faults: Faults = noFaults();
  readonly counts: RequestCounts = { total: 0, reads: 0, watches: 0, writes: 0, byVerb: {} };
  private open = 0;

  /** Requests not answered yet, watches included: none once every client has stopped and been answered. */
  get openRequests(): number {
    return this.open;
  }
  private readonly watches = new Set<WatchStream>();
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private kubeconfigPath = "";
  /** The rest of paged lists, by continue token: each page comes from the snapshot the first page was cut from. */
  private readonly pages = new Map<string, { items: KubeObject[]; resourceVersion: string }>();

  private constructor(
    readonly certs: SimCertificates,
    private readonly options: KubeSimOptions,
  ) {
    this.store = new ObjectStore(
      new ServiceAllocator(options.serviceCidr),
      options.historyLimit,
      options.opaqueResourceVersions,
    );
    if (options.crds) this.store.installCrds(options.crds);
    for (const ns of ["default", "kube-system"])
      this.store.create("namespaces", null, {
        metadata: { name: ns },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      });
  }

  static async start(options: KubeSimOptions = {}): Promise<KubeSim> {
    const sim = new KubeSim(await makeCertificates(), options);
    await sim.listen();
    return sim;
  }

  get profile(): string {
    return this.options.profile ?? "minikube";
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `https://127.0.0.1:${address.port}`;
  }

  get kubeconfig(): string {
    return this.kubeconfigPath;
  }

  private async listen(): Promise<void> {
    this.server = createServer(
      {
        key: this.certs.serverKey,
        cert: this.certs.serverCert,
        ca: this.certs.caCert,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        // A client that drops the connection mid-request is normal here (fault switches, shutdown).
        req.on("error", () => undefined);
        res.on("error", () => undefined);
        this.open++;
        res.on("close", () => this.open--);
        this.handle(req, res).catch((error: unknown) => this.fail(res, error));
      },
    );
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.kubeconfigPath = join(this.certs.dir, "kubeconfig");
    await writeFile(this.kubeconfigPath, kubeconfigYaml(this.url, this.certs, this.profile), { mode: 0o600 });
  }

  /**
   * The API comes back on a new port and the kubeconfig is rewritten, as
   * after `minikube stop` and `minikube start` with the docker driver. The
   * stored objects stay (etcd keeps them).
   */
  async restart(): Promise<void> {
    this.dropWatches();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
    await this.listen();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Open watches go silent and stay open: a peer that vanished without closing the connection. */
  freezeWatches(): number {
    for (const watch of this.watches) watch.freeze();
    return this.watches.size;
  }

  /** Ends every open watch abruptly, as a dropped connection would. */
  dropWatches(): number {
    const n = this.watches.size;
    for (const watch of [...this.watches]) watch.abort();
    return n;
  }

  /** Sends an in-stream 410 ERROR to every open watch and ends it. */
  expireWatches(): void {
    for (const watch of [...this.watches]) watch.expire();
  }

  /** Installs CRDs while the API runs (by plural), as `kubectl apply -f` of their definitions would. */
  installCrds(plurals: readonly string[]): void {
    this.store.installCrds(plurals);
  }

  /** Deletes CRDs: their objects go (DELETED to watchers), then their watches end and their kinds are not served. */
  removeCrds(plurals: readonly string[]): void {
    this.store.removeCrds(plurals);
    for (const watch of [...this.watches]) if (plurals.includes(watch.plural)) watch.close();
  }

  resetCounts(): void {
    Object.assign(this.counts, { total: 0, reads: 0, watches: 0, writes: 0, byVerb: {} });
  }

  async stop(): Promise<void> {
    this.dropWatches();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await rm(this.certs.dir, { recursive: true, force: true });
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-cache, private",
    });
    res.end(text);
  }

  private fail(res: ServerResponse, error: unknown): void {
    const apiError = error instanceof ApiError ? error : new ApiError(500, "InternalError", (error as Error).message);
    if (!res.headersSent) this.send(res, apiError.code, apiError.toStatus());
    else res.destroy();
  }

  private count(verb: string): void {
    this.counts.total++;
    this.counts.byVerb[verb] = (this.counts.byVerb[verb] ?? 0) + 1;
    if (verb === "watch") this.counts.watches++;
    else if (verb === "get" || verb === "list") this.counts.reads++;
    else this.counts.writes++;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://sim");
    const method = req.method ?? "GET";
    if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
    const served = (k: ResourceKind) => this.store.served(k.plural);
    const discovered = discoveryDocument(url.pathname, served, new URL(this.url).host);
    if (discovered !== undefined) {
      if (discovered === null) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
      return this.send(res, 200, discovered);
    }
    if (url.pathname === "/kubesim/counts") {
      // Test-support endpoint, not part of the Kubernetes API: lets a benchmark in another process read and reset
      // counters.
      if (method === "POST") this.resetCounts();
      return this.send(res, 200, this.counts);
    }
    const route = parsePath(url.pathname, served);
    if (!route) throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    const watching =
      method === "GET" && (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1");
    if (!watching && this.faults.resetRate > 0 && Math.random() < this.faults.resetRate) {
      // Over TLS this reads as "socket hang up" (ECONNRESET) on the client, as a reused socket the server had closed
      // does.
      req.socket.destroy();
      return;
    }
    const verb = watching ? "watch" : method === "GET" ? (route.name ? "get" : "list") : method.toLowerCase();
    this.count(verb);
    if (this.faults.errorRate > 0 && Math.random() < this.faults.errorRate)
      throw new ApiError(500, "InternalError", "injected fault: internal error");
    const kind = KINDS[route.plural]!;
    if (kind.namespaced && route.name && !route.namespace)
      throw new ApiError(404, "NotFound", "the server could not find the requested resource");
    if (watching) return this.watch(req, res, route, url.searchParams);
    if (method === "GET" && !route.name) return this.list(res, route, url.searchParams);
    if (method === "GET") return this.send(res, 200, this.store.get(route.plural, route.namespace, route.name!));
    const body = await readBody(req);
    if (this.faults.conflictRate > 0 && method !== "DELETE" && Math.random() < this.faults.conflictRate) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${route.plural} "${route.name ?? ""}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const contentType = req.headers["content-type"] ?? "application/json";
    if (method === "POST" && !route.name && !route.subresource) {
      return this.send(res, 201, this.store.create(route.plural, route.namespace, parseObject(body, contentType)));
    }
    if (!route.name)
      throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    if (method === "PUT")
      return this.send(
        res,
        200,
        this.store.update(route.plural, route.namespace, route.name, parseObject(body, contentType), route.subresource),
      );
    if (method === "PATCH") {
      const current = this.store.get(route.plural, route.namespace, route.name);
      const patched = applyPatch(contentType, current, body);
      // A resourceVersion carried in a patch is a precondition, exactly as for PUT.
      const requestedVersion =
        (patched.metadata?.resourceVersion as string | undefined) === current.metadata.resourceVersion
          ? undefined
          : patched.metadata?.resourceVersion;
      const toStore = {
        ...patched,
        metadata: { ...patched.metadata, resourceVersion: requestedVersion ?? current.metadata.resourceVersion },
      };
      return this.send(
        res,
        200,
        this.store.update(route.plural, route.namespace, route.name, toStore, route.subresource),
      );
    }
    if (method === "DELETE") {
      const deleted = this.store.delete(route.plural, route.namespace, route.name);
      return this.send(res, 200, deleted);
    }
    throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  private list(res: ServerResponse, route: Route, params: URLSearchParams): void {
    const requested = params.get("resourceVersion");
    if (
      requested &&
      requested !== "0" &&
      params.get("resourceVersionMatch") === "Exact" &&
      this.store.decodeVersion(requested) < this.store.oldestResumable
    ) {
      throw new ApiError(410, "Expired", `too old resource version: ${requested} (${this.store.oldestResumable})`);
    }
    const kind = KINDS[route.plural]!;
    const token = params.get("continue");
    let page: { items: KubeObject[]; resourceVersion: string };
    if (token) {
      const rest = this.pages.get(token);
      if (!rest)
        throw new ApiError(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      this.pages.delete(token);
      page = rest;
    } else {
      const { items, resourceVersion } = this.store.list(route.plural, route.namespace);
      page = { items: items.filter(selectorMatcher(params)), resourceVersion };
    }
    const limit = Number(params.get("limit") ?? 0);
    const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    let items = page.items;
    if (limit > 0 && items.length > limit) {
      const next = randomBytes(12).toString("base64url");
      this.pages.set(next, { items: items.slice(limit), resourceVersion: page.resourceVersion });
      if (this.pages.size > 200) this.pages.delete(this.pages.keys().next().value!);
      metadata.continue = next;
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    this.send(res, 200, { kind: `${kind.kind}List`, apiVersion: groupVersion(kind), metadata, items });
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: Route, params: URLSearchParams): void {
    const watchParams: WatchParams = {
      plural: route.plural,
      namespace: route.namespace,
      resourceVersion: params.get("resourceVersion"),
      bookmarks: params.get("allowWatchBookmarks") === "true",
      timeoutSeconds: params.has("timeoutSeconds") ? Number(params.get("timeoutSeconds")) : 1800,
      bookmarkIntervalMs: this.options.bookmarkIntervalMs ?? 1000,
      matches: selectorMatcher(params),
    };
    if (this.faults.gone === "http") throw new ApiError(410, "Expired", "too old resource version (injected)");
    if (this.faults.watchEndsAtOnce) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end();
      return;
    }
    const kind = KINDS[route.plural]!;
    const stream = new WatchStream(this.store, res, watchParams, kind.kind, groupVersion(kind));
    this.watches.add(stream);
    stream.onClose(() => this.watches.delete(stream));
    req.on("close", () => stream.close());
    if (this.faults.gone === "stream") stream.expire();
    else stream.begin();
  }
}
