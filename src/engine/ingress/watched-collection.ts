import { isDeepStrictEqual } from "node:util";
import { type Json, type KubeApi, KubeApiError } from "../kube/kube-http.js";
import { ServiceInformer } from "../lb/service-informer.js";

export interface CollectionHandlers {
  /** Something the views show changed (not called for a change of fields no view reads). */
  changed(): void;
  log(line: string): void;
  /** The collection answered 404: its kind is no longer served (a CRD removed). */
  notFound?(): void;
  /** The kubeconfig named another API server: the cluster came back elsewhere. */
  reconnected?(): void;
}

/**
 * One list/watch (the LoadBalancer controller's informer, docs/architecture.md "Following the cluster": paged lists,
 * relist on 410, backoff, kubeconfig reload on connection failures) keeping each object as a small view.
 */
export class WatchedCollection<T> {
  private readonly items = new Map<string, T>();
  private readonly informer: ServiceInformer;
  synced = false;

  constructor(
    api: KubeApi,
    readonly path: string,
    private readonly parse: (object: Json) => T | null,
    private readonly handlers: CollectionHandlers,
  ) {
    this.informer = new ServiceInformer(
      api,
      {
        onList: (objects) => this.onList(objects),
        onEvent: (type, object) => this.onEvent(type, object),
        onError: (error, wait) => {
          if (error instanceof KubeApiError && error.status === 404) handlers.notFound?.();
          handlers.log(`Kubernetes API (${path}): ${(error as Error).message}; retrying in ${wait} ms`);
        },
        onReconnect: () => handlers.reconnected?.(),
      },
      path,
    );
  }

  get firstSync(): Promise<void> {
    return this.informer.firstSync;
  }

  get stats() {
    return { lists: this.informer.lists, watches: this.informer.watches };
  }

  start(): void {
    this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  values(): T[] {
    return [...this.items.values()];
  }

  private static key(object: Json): string {
    const metadata = (object.metadata ?? {}) as Json;
    return `${metadata.namespace ?? ""}/${metadata.name ?? ""}`;
  }

  /** True when the object's view differs from the one held. */
  private put(key: string, object: Json | null): boolean {
    const view = object === null ? null : this.parse(object);
    const held = this.items.get(key);
    if (view === null) return this.items.delete(key);
    if (held !== undefined && isDeepStrictEqual(held, view)) return false;
    this.items.set(key, view);
    return true;
  }

  private onList(objects: Json[]): void {
    const seen = new Set<string>();
    let changed = !this.synced;
    for (const object of objects) {
      const key = WatchedCollection.key(object);
      seen.add(key);
      changed = this.put(key, object) || changed;
    }
    for (const key of [...this.items.keys()]) if (!seen.has(key)) changed = this.put(key, null) || changed;
    this.synced = true;
    if (changed) this.handlers.changed();
  }

  private onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: Json): void {
    if (this.put(WatchedCollection.key(object), type === "DELETED" ? null : object)) this.handlers.changed();
  }
}
