import { KubeApiError, type KubeHttp, type WatchLine } from "../kube/kube-http.js";
import { jitteredBackoff, sleep } from "./backoff.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

export interface InformerHandlers {
  /** A full list arrived (first sync or relist); `objects` is the whole truth. */
  onList(objects: Json[]): void;
  onEvent(type: "ADDED" | "MODIFIED" | "DELETED", object: Json): void;
  onError?(error: unknown, retryInMs: number): void;
}

/**
 * List, then watch from the list's resourceVersion (DESIGN §5). A watch that
 * ends normally resumes from the last version seen (bookmarks keep it fresh);
 * 410 Gone, as a status or an in-stream ERROR, forces a relist; any other
 * failure waits a jittered backoff first.
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
    private readonly client: KubeHttp,
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
    const { body } = await this.client.call<{ metadata: { resourceVersion: string }; items: Json[] }>("GET", this.path);
    this.resourceVersion = body.metadata.resourceVersion;
    this.handlers.onList(body.items);
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
        }
        const timeout = 240 + Math.floor(Math.random() * 120);
        this.watches++;
        let gone = false;
        await this.client.watch(
          `${this.path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=${timeout}&resourceVersion=${encodeURIComponent(this.resourceVersion)}`,
          (event: WatchLine) => {
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
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (error instanceof KubeApiError && error.status === 410) {
          needList = true;
          continue;
        }
        const wait = jitteredBackoff(failures++);
        this.handlers.onError?.(error, wait);
        await sleep(wait, this.abort.signal);
      }
    }
  }
}
