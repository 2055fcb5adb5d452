import { randomUUID } from "node:crypto";
import { ApiError, type KubeObject } from "./api-error.js";
import { applyCreateRules, applyUpdateRules } from "./network-rules.js";
import { KINDS, type ResourceKind, groupVersion } from "./resource-kinds.js";
import {
  applyServiceCreate,
  applyServiceStatusUpdate,
  applyServiceUpdate,
  type ServiceAllocator,
} from "./service-rules.js";

// Kubernetes objects are open-ended JSON; the simulator handles them as such.

export { ApiError, KINDS, type KubeObject, type ResourceKind };

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  readonly rv: number;
  readonly plural: string;
  readonly type: WatchEventType;
  readonly object: KubeObject;
  /** For MODIFIED, the object before the change: a watch with a selector turns a change across it into ADDED or DELETED. */
  readonly previous?: KubeObject;
}

export type Listener = (event: StoredEvent) => void;

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * The apiserver's storage as the simulator models it: one global
 * resourceVersion, a bounded history of changes for watch resumption, and the
 * per-kind rules of registry strategies (here only Service has real rules).
 */
const OPAQUE_BASE = 10 ** 12;

export class ObjectStore {
  private rv = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  private readonly listeners = new Set<Listener>();
  /** CustomResourceDefinitions installed, by plural; their kinds are served only while installed. */
  private readonly crds = new Set<string>();

  constructor(
    private readonly allocator: ServiceAllocator,
    /** How many changes are kept for watches; older resourceVersions get 410 Gone. */
    public historyLimit = 10_000,
    /**
     * resourceVersions are opaque to clients; this renders them as strings that are not numbers, so a client that
     * compares them shows it.
     */
    private readonly opaqueVersions = false,
  ) {
    for (const kind of Object.keys(KINDS)) this.objects.set(kind, new Map());
  }

  /** Opaque versions count down: a client that orders them as numbers gets every comparison backwards. */
  encodeVersion(rv: number): string {
    return this.opaqueVersions ? String(OPAQUE_BASE - rv) : String(rv);
  }

  /** The number behind a resourceVersion this store handed out. */
  decodeVersion(text: string): number {
    if (!this.opaqueVersions || text === "" || text === "0") return Number(text);
    return OPAQUE_BASE - Number(text);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Oldest resourceVersion a watch may resume from. */
  get oldestResumable(): number {
    return this.history.length === 0 ? this.rv : (this.history[0]?.rv ?? this.rv) - 1;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  eventsSince(rv: number, plural: string): StoredEvent[] {
    if (rv < this.oldestResumable)
      throw new ApiError(410, "Expired", `too old resource version: ${rv} (${this.oldestResumable})`);
    return this.history.filter((e) => e.rv > rv && e.plural === plural);
  }

  /** Makes every resourceVersion before now too old, as compaction does. */
  compact(): void {
    this.history.length = 0;
  }

  private key(ns: string | null, name: string): string {
    return ns ? `${ns}/${name}` : name;
  }

  /** Whether the API serves this kind now (a CRD's kind only while the CRD is installed). */
  served(plural: string): boolean {
    const kind = KINDS[plural];
    return kind !== undefined && (!kind.crd || this.crds.has(plural));
  }

  installCrds(plurals: readonly string[]): void {
    for (const plural of plurals) {
      if (!KINDS[plural]?.crd) throw new Error(`${plural} is not a CRD kind of the simulator`);
      this.crds.add(plural);
    }
  }

  /** Deleting a CRD deletes its objects (each a DELETED event), then its kind is no longer served. */
  removeCrds(plurals: readonly string[]): void {
    for (const plural of plurals) {
      if (!this.crds.has(plural)) continue;
      for (const object of [...this.bucket(plural).values()])
        this.delete(plural, object.metadata.namespace ?? null, object.metadata.name);
      this.crds.delete(plural);
    }
  }

  private bucket(plural: string): Map<string, KubeObject> {
    const bucket = this.served(plural) ? this.objects.get(plural) : undefined;
    if (!bucket) throw new ApiError(404, "NotFound", `the server could not find the requested resource (${plural})`);
    return bucket;
  }

  private record(plural: string, type: WatchEventType, object: KubeObject, previous?: KubeObject): void {
    const event: StoredEvent = {
      rv: this.decodeVersion(object.metadata.resourceVersion),
      plural,
      type,
      object: clone(object),
      // The caller's own copy (update reads it with get, which clones): kept as is.
      ...(previous ? { previous } : {}),
    };
    this.history.push(event);
    // Trim in batches so a long history costs amortised O(1) per change.
    if (this.history.length > this.historyLimit * 1.25) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of this.listeners) listener(event);
  }

  private nextVersion(): string {
    this.rv += 1;
    return this.encodeVersion(this.rv);
  }

  get(plural: string, ns: string | null, name: string): KubeObject {
    const object = this.bucket(plural).get(this.key(ns, name));
    if (!object) throw new ApiError(404, "NotFound", `${plural} "${name}" not found`);
    return clone(object);
  }

  list(plural: string, ns: string | null): { items: KubeObject[]; resourceVersion: string } {
    const items = [...this.bucket(plural).values()]
      .filter((o) => ns === null || o.metadata.namespace === ns)
      .map(clone);
    return { items, resourceVersion: this.encodeVersion(this.rv) };
  }

  count(plural: string): number {
    return this.bucket(plural).size;
  }

  create(plural: string, ns: string | null, input: KubeObject): KubeObject {
    const kind = KINDS[plural];
    if (!kind || !this.served(plural)) throw new ApiError(404, "NotFound", `unknown resource ${plural}`);
    const object = clone(input);
    object.apiVersion = groupVersion(kind);
    object.kind = kind.kind;
    object.metadata = { ...(object.metadata ?? {}) };
    if (!object.metadata.name && object.metadata.generateName)
      object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
    const name: unknown = object.metadata.name;
    const nameRule = plural === "services" || plural === "namespaces" ? DNS_LABEL : DNS_SUBDOMAIN;
    if (typeof name !== "string" || !nameRule.test(name) || name.length > 253) {
      throw new ApiError(
        422,
        "Invalid",
        `${kind.kind} "${String(name)}" is invalid: metadata.name: Invalid value: "${String(name)}"`,
      );
    }
    if (kind.namespaced) {
      if (ns === null) throw new ApiError(400, "BadRequest", "namespace is required");
      if (object.metadata.namespace && object.metadata.namespace !== ns) {
        throw new ApiError(
          400,
          "BadRequest",
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      if (!this.bucket("namespaces").has(ns)) throw new ApiError(404, "NotFound", `namespaces "${ns}" not found`);
      object.metadata.namespace = ns;
    }
    const key = this.key(ns, name);
    if (this.bucket(plural).has(key)) throw new ApiError(409, "AlreadyExists", `${plural} "${name}" already exists`);
    if (plural === "services") applyServiceCreate(object, this.allocator);
    else
      applyCreateRules(plural, object, {
        ingressClasses: () => [...this.bucket("ingressclasses").values()],
        hasStatus: kind.hasStatus,
        grouped: kind.group !== "",
      });
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    object.metadata.resourceVersion = this.nextVersion();
    this.bucket(plural).set(key, object);
    this.record(plural, "ADDED", object);
    return clone(object);
  }

  /**
   * PUT semantics: a stale resourceVersion is a 409; the main resource ignores status and the status subresource
   * ignores spec.
   */
  update(plural: string, ns: string | null, name: string, input: KubeObject, subresource: "status" | null): KubeObject {
    const existing = this.get(plural, ns, name);
    const incoming = clone(input);
    if (incoming.metadata?.name !== undefined && incoming.metadata.name !== name) {
      throw new ApiError(400, "BadRequest", "the name of the object does not match the name on the URL");
    }
    const wanted = incoming.metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== "" && wanted !== existing.metadata.resourceVersion) {
      throw new ApiError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    let next: KubeObject;
    if (plural === "services") {
      next =
        subresource === "status"
          ? applyServiceStatusUpdate(existing, incoming)
          : applyServiceUpdate(existing, incoming, this.allocator);
    } else if (subresource === "status") {
      next = {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: incoming.metadata?.labels,
          annotations: incoming.metadata?.annotations,
        },
        status: incoming.status,
      };
    } else if (KINDS[plural]!.hasStatus) {
      next = { ...incoming, status: existing.status };
      applyUpdateRules(plural, existing, next, KINDS[plural]!.group !== "");
    } else {
      next = { ...incoming };
      applyUpdateRules(plural, existing, next, KINDS[plural]!.group !== "");
    }
    next.apiVersion = groupVersion(KINDS[plural]!);
    next.kind = existing.kind;
    next.metadata = {
      ...next.metadata,
      ...(existing.metadata.generation !== undefined && next.metadata?.generation === undefined
        ? { generation: existing.metadata.generation }
        : {}),
      name,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      ...(ns ? { namespace: ns } : {}),
    };
    if (
      JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: "" } }) ===
      JSON.stringify({ ...existing, metadata: { ...existing.metadata, resourceVersion: "" } })
    ) {
      return existing; // a no-op write does not bump the resourceVersion
    }
    next.metadata.resourceVersion = this.nextVersion();
    this.bucket(plural).set(this.key(ns, name), next);
    this.record(plural, "MODIFIED", next, existing);
    return clone(next);
  }

  delete(plural: string, ns: string | null, name: string): KubeObject {
    const existing = this.get(plural, ns, name);
    this.bucket(plural).delete(this.key(ns, name));
    if (plural === "services") this.allocator.release(existing);
    existing.metadata.resourceVersion = this.nextVersion();
    this.record(plural, "DELETED", existing);
    return existing;
  }
}
