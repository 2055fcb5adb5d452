import type { ServerResponse } from "node:http";
import { ApiError, type KubeObject, type ObjectStore, type StoredEvent } from "./object-store.js";

export interface WatchParams {
  readonly plural: string;
  readonly namespace: string | null;
  readonly resourceVersion: string | null;
  readonly bookmarks: boolean;
  readonly timeoutSeconds: number;
  readonly bookmarkIntervalMs: number;
  readonly matches: (object: KubeObject) => boolean;
}

/**
 * One watch response: newline-delimited JSON events on a chunked stream.
 * Without a resourceVersion (or "0") it starts with synthetic ADDED events for
 * every object; otherwise it replays history after that version, or sends a
 * 410 ERROR event when the version has been compacted away.
 */
export class WatchStream {
  private closed = false;
  private unsubscribe: (() => void) | null = null;
  private timers: NodeJS.Timeout[] = [];
  private lastVersion: number;
  private closeListeners: (() => void)[] = [];

  constructor(
    private readonly store: ObjectStore,
    private readonly res: ServerResponse,
    private readonly params: WatchParams,
    private readonly kind: string,
    private readonly apiVersion = "v1",
  ) {
    this.lastVersion = store.resourceVersion;
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Transfer-Encoding": "chunked",
      "Cache-Control": "no-cache, private",
    });
    res.flushHeaders();
  }

  /** The plural this stream watches. */
  get plural(): string {
    return this.params.plural;
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  begin(): void {
    const requested = this.params.resourceVersion;
    let backlog: StoredEvent[];
    if (!requested || requested === "0") {
      const { items } = this.store.list(this.params.plural, this.params.namespace);
      backlog = items.map((object) => ({
        rv: this.store.decodeVersion(object.metadata.resourceVersion),
        plural: this.params.plural,
        type: "ADDED" as const,
        object,
      }));
    } else {
      try {
        backlog = this.store.eventsSince(this.store.decodeVersion(requested), this.params.plural);
      } catch (error) {
        if (error instanceof ApiError && error.code === 410) return this.expire(error.message);
        throw error;
      }
    }
    this.lastVersion = Math.max(this.store.decodeVersion(requested ?? "") || 0, this.store.resourceVersion);
    for (const event of backlog) this.deliver(event);
    this.unsubscribe = this.store.subscribe((event) => {
      if (event.plural === this.params.plural) this.deliver(event);
      this.lastVersion = event.rv;
    });
    if (this.params.bookmarks) {
      this.timers.push(
        setInterval(
          () =>
            this.write({
              type: "BOOKMARK",
              object: {
                kind: this.kind,
                apiVersion: this.apiVersion,
                metadata: { resourceVersion: this.store.encodeVersion(this.lastVersion) },
              },
            }),
          this.params.bookmarkIntervalMs,
        ),
      );
    }
    this.timers.push(setTimeout(() => this.close(), this.params.timeoutSeconds * 1000));
  }

  /**
   * A change across the watch's selectors reads as the apiserver's watch cache sends it: an object that starts to
   * match is ADDED, one that stops matching is DELETED (with its new state).
   */
  private deliver(event: StoredEvent): void {
    const inScope = (o: KubeObject | undefined) =>
      o !== undefined &&
      (this.params.namespace === null || o.metadata.namespace === this.params.namespace) &&
      this.params.matches(o);
    const now = inScope(event.object);
    const before = event.type === "MODIFIED" ? inScope(event.previous) : now;
    let type: string = event.type;
    if (event.type === "MODIFIED" && now !== before) type = now ? "ADDED" : "DELETED";
    else if (!now) return;
    // One serialisation per change and type, shared by every watcher.
    const cached = event as StoredEvent & { lines?: Record<string, string> };
    cached.lines ??= {};
    cached.lines[type] ??= `${JSON.stringify({ type, object: event.object })}\n`;
    if (!this.closed) this.res.write(cached.lines[type]);
  }

  private write(event: unknown): void {
    if (this.closed) return;
    this.res.write(`${JSON.stringify(event)}\n`);
  }

  /** The in-stream form of 410 Gone that the real apiserver sends, then the end of the stream. */
  expire(message = "too old resource version (injected)"): void {
    this.write({ type: "ERROR", object: new ApiError(410, "Expired", message).toStatus() });
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.res.end();
    for (const listener of this.closeListeners) listener();
  }

  /** Stops sending anything (events, bookmarks) but keeps the connection open: a peer that vanished silently. */
  freeze(): void {
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.closed = true;
  }

  /** Ends the connection without a clean chunked terminator, like a network drop. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const timer of this.timers) clearTimeout(timer);
    this.res.socket?.destroy();
    for (const listener of this.closeListeners) listener();
  }
}
