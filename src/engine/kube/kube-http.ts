import { Agent, request, type RequestOptions } from "node:https";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

export interface KubeResponse<T> {
  readonly status: number;
  readonly body: T;
}

export type WatchLine = { type: string; object: Record<string, unknown> };

/** Kubernetes JSON as it comes off the wire: the one place this loose type is declared. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

/** The calls the engine makes; a KubeHttp, or a KubeConnection that rebuilds one when the cluster moves. */
export interface KubeApi {
  call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse<T>>;
  watch(path: string, onEvent: (event: WatchLine) => void, signal: AbortSignal): Promise<void>;
  /**
   * Read the kubeconfig again after a connection-level failure (minikube rewrites it with a new port after a restart).
   */
  reload?(): Promise<boolean>;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/** The request never got an answer from an API server: the connection, not the API, failed. */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof KubeApiError) return false;
  const e = error as NodeJS.ErrnoException | undefined;
  if (!e) return false;
  if (
    e.code &&
    (CONNECTION_CODES.has(e.code) ||
      e.code.startsWith("ERR_TLS") ||
      e.code.startsWith("CERT_") ||
      e.code === "DEPTH_ZERO_SELF_SIGNED_CERT" ||
      e.code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
  )
    return true;
  return /socket hang up|no answer within|idle for|connection dropped|stream ended early/.test(e.message ?? "");
}

/** A kept-alive socket the server already closed shows as a reset on reuse; a few quick retries cover it. */
const RETRIES = 4;
/**
 * Watches: with no byte (events or bookmarks, which apiservers send about every minute) for this long, the connection
 * is taken for dead.
 */
export const WATCH_IDLE_TIMEOUT_MS = 75_000;

/**
 * A small HTTPS client for the core/v1 calls the controller makes. Credentials
 * come from @kubernetes/client-node's KubeConfig (certificates, tokens,
 * exec plugins); requests go over one keep-alive agent, and watches are read
 * line by line as the apiserver streams them.
 */
export class KubeHttp implements KubeApi {
  private constructor(
    private readonly server: URL,
    private readonly options: RequestOptions,
    private readonly timeoutMs: number,
    private readonly agent: Agent,
    readonly watchIdleTimeoutMs: number,
  ) {}

  static async fromKubeConfig(
    config: KubeConfig,
    { maxSockets = 32, timeoutMs = 15_000, watchIdleTimeoutMs = WATCH_IDLE_TIMEOUT_MS } = {},
  ): Promise<KubeHttp> {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig context "${config.getCurrentContext()}" has no cluster`);
    const tlsAndAuth: RequestOptions = {};
    await config.applyToHTTPSOptions(tlsAndAuth);
    // Credentials live on the agent only: per-request copies of the PEMs would be hashed into the agent's pool key on
    // every request.
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, headers } = tlsAndAuth;
    const agent = new Agent({
      keepAlive: true,
      maxSockets,
      ca,
      cert,
      key,
      pfx,
      passphrase,
      ...(rejectUnauthorized !== undefined ? { rejectUnauthorized } : {}),
    });
    return new KubeHttp(
      new URL(cluster.server),
      { agent, ...(headers ? { headers } : {}) },
      timeoutMs,
      agent,
      watchIdleTimeoutMs,
    );
  }

  /** Where this client talks to, with which credentials: a reload that finds the same keeps the client. */
  get identity(): string {
    const { ca, cert, key } = this.agent.options;
    return JSON.stringify([this.server.href, String(ca ?? ""), String(cert ?? ""), String(key ?? "").length]);
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, path: string, headers: Record<string, string>, signal?: AbortSignal) {
    const url = new URL(path, this.server);
    return request(url, {
      ...this.options,
      method,
      headers: { ...(this.options.headers ?? {}), Accept: "application/json", ...headers },
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * One API call. Anything but a create is retried a couple of times when the
   * connection fails before an answer: our writes carry a resourceVersion
   * precondition, so a retried write cannot apply twice or over a change.
   */
  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<KubeResponse<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.callOnce<T>(method, path, body, contentType);
      } catch (error) {
        if (method === "POST" || attempt >= RETRIES || !isConnectionError(error)) throw error;
        await new Promise((r) => setTimeout(r, 25 * (attempt + 1)));
      }
    }
  }

  private callOnce<T>(method: string, path: string, body: unknown, contentType: string): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.open(
        method,
        path,
        payload === undefined
          ? {}
          : { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(payload)) },
      );
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(new Error(`${method} ${path}: no answer within ${this.timeoutMs} ms`)),
      );
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text === "" ? {} : JSON.parse(text);
          } catch {
            // Not JSON: keep the text for the error message.
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body: parsed as T });
          else {
            const s = parsed as { reason?: string; message?: string };
            reject(
              new KubeApiError(
                status,
                s.reason ?? "Unknown",
                `${method} ${path}: ${status} ${s.message ?? String(text).slice(0, 200)}`,
              ),
            );
          }
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  /**
   * Streams a watch; resolves when the server ends it, rejects on a non-200
   * answer, a broken connection, or one silent for `watchIdleTimeoutMs`
   * (a peer that vanished without closing the connection).
   */
  watch(path: string, onEvent: (event: WatchLine) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.open("GET", path, {}, signal);
      req.setTimeout(this.watchIdleTimeoutMs, () =>
        req.destroy(new Error(`watch ${path}: idle for ${Math.round(this.watchIdleTimeoutMs / 1000)} s`)),
      );
      req.on("response", (res) => {
        if (res.statusCode !== 200) {
          res.on("error", reject);
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            let message = Buffer.concat(chunks).toString("utf8");
            let reason = "Unknown";
            try {
              const s = JSON.parse(message) as { message?: string; reason?: string };
              message = s.message ?? message;
              reason = s.reason ?? reason;
            } catch {
              // plain text
            }
            reject(new KubeApiError(res.statusCode ?? 0, reason, `watch ${path}: ${res.statusCode} ${message}`));
          });
          return;
        }
        let failed = false;
        res.on("aborted", () => {
          failed = true;
          reject(new Error(`watch ${path}: connection dropped`));
        });
        res.on("error", (error) => {
          failed = true;
          reject(error);
        });
        const lines = createInterface({ input: res });
        // readline re-emits the response's errors; they are already handled above.
        lines.on("error", () => undefined);
        lines.on("line", (line) => {
          if (line.trim() === "") return;
          try {
            onEvent(JSON.parse(line) as WatchLine);
          } catch (error) {
            req.destroy(error as Error);
          }
        });
        lines.on("close", () => {
          if (!failed && res.complete) resolve();
          else if (!failed) reject(new Error(`watch ${path}: stream ended early`));
        });
      });
      req.on("error", reject);
      req.end();
    });
  }
}
