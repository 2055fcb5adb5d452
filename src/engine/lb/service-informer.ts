import { listAll } from "../kube/kube-connection.js";
import { type Json, KubeApiError, type KubeApi, type WatchLine, isConnectionError } from "../kube/kube-http.js";
import { jitteredBackoff, sleep } from "./backoff.js";

export interface InformerHandlers {
  /** A full list arrived (first sync or relist); `objects` is the whole truth. */
  onList(objects: Json[]): void;
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: Json): void;
  onError?(error: unknown, retryInMs: number): void;
  /** The client was rebuilt from a changed kubeconfig (the cluster came back somewhere else). */
  onReconnect?(): void;
}

/**
 * A watch that ends this soon with nothing in it counts as a failure, so a server that closes at once is not hammered.
 */
const SHORT_WATCH_MS = 1000;

/**
 * List, then watch from the list's resourceVersion (docs/architecture.md,
 * "The LoadBalancer controller"). Lists are paged. A watch that ends normally
 * resumes from the last version seen (bookmarks keep it fresh); 410 Gone, as
 * a status or an in-stream ERROR, forces a relist; any other failure waits a
 * jittered backoff, and a connection failure first reads the kubeconfig
 * again. resourceVersions are passed back as given, never compared.
 */
export class ServiceInformer {
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  private resourceVersion = "";
  private synced!: () => void;
  /** Resolves after the first successful list has been handed over. */
  readonly firstSync: Promise<void>;
  lists = 0;
  watches = 0;

  constructor(
    private readonly client: KubeApi,
    private readonly handlers: InformerHandlers,
    private readonly path = "/api/v1/services",
  ) {
    this.firstSync = new Promise((resolve) => {
      this.synced = resolve;
    });
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async list(): Promise<void> {
    this.lists++;
    const { items, resourceVersion } = await listAll<Json>(this.client, this.path);
    this.resourceVersion = resourceVersion;
    this.handlers.onList(items);
    this.synced();
  }

  private async loop(): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
          failures = 0;
        }
        const timeout = 240 + Math.floor(Math.random() * 120);
        this.watches++;
        let gone = false;
        let events = 0;
        const began = performance.now();
        // The path may carry its own query (a label selector) that the watch keeps.
        const separator = this.path.includes("?") ? "&" : "?";
        await this.client.watch(
          `${this.path}${separator}watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeout}&resourceVersion=${encodeURIComponent(this.resourceVersion)}`,
          (event: WatchLine) => {
            events++;
            failures = 0;
            const rv = (event.object?.metadata as Json | undefined)?.resourceVersion as string | undefined;
            if (event.type === "ERROR") {
              if ((event.object as Json).code === 410) gone = true;
              return;
            }
            if (rv) this.resourceVersion = rv;
            if (event.type === "BOOKMARK") return;
            this.handlers.onEvent(event.type as "ADDED" | "MODIFIED" | "DELETED", event.object);
          },
          this.abort.signal,
        );
        if (gone) needList = true;
        else if (events === 0 && performance.now() - began < SHORT_WATCH_MS)
          await this.backOff(new Error("watch ended at once with no events"), failures++);
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (error instanceof KubeApiError && error.status === 410) {
          needList = true;
          continue;
        }
        if (
          (isConnectionError(error) || (error instanceof KubeApiError && error.status === 401)) &&
          (await this.client.reload?.())
        ) {
          // The cluster moved (new port, new certificates): everything is read again from the new place.
          this.handlers.onReconnect?.();
          needList = true;
        }
        await this.backOff(error, failures++);
      }
    }
  }

  private async backOff(error: unknown, attempt: number): Promise<void> {
    const wait = jitteredBackoff(attempt);
    this.handlers.onError?.(error, wait);
    await sleep(wait, this.abort.signal);
  }
}
