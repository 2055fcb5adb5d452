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

/**
 * A small HTTPS client for the core/v1 calls the controller makes. Credentials
 * come from @kubernetes/client-node's KubeConfig (certificates, tokens,
 * exec plugins); requests go over one keep-alive agent, and watches are read
 * line by line as the apiserver streams them.
 */
export class KubeHttp {
  private constructor(
    private readonly server: URL,
    private readonly options: RequestOptions,
    private readonly timeoutMs: number,
  ) {}

  static async fromKubeConfig(config: KubeConfig, { maxSockets = 32, timeoutMs = 15_000 } = {}): Promise<KubeHttp> {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig context "${config.getCurrentContext()}" has no cluster`);
    const tlsAndAuth: RequestOptions = {};
    await config.applyToHTTPSOptions(tlsAndAuth);
    // Credentials live on the agent only: per-request copies of the PEMs would be hashed into the agent's pool key on every request.
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, headers } = tlsAndAuth;
    const agent = new Agent({ keepAlive: true, maxSockets, ca, cert, key, pfx, passphrase, ...(rejectUnauthorized !== undefined ? { rejectUnauthorized } : {}) });
    return new KubeHttp(new URL(cluster.server), { agent, ...(headers ? { headers } : {}) }, timeoutMs);
  }

  private open(method: string, path: string, headers: Record<string, string>, signal?: AbortSignal) {
    const url = new URL(path, this.server);
    return request(url, { ...this.options, method, headers: { ...(this.options.headers ?? {}), Accept: "application/json", ...headers }, ...(signal ? { signal } : {}) });
  }

  async call<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.open(method, path, payload === undefined ? {} : { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(payload)) });
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${this.timeoutMs} ms`)));
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
            reject(new KubeApiError(status, s.reason ?? "Unknown", `${method} ${path}: ${status} ${s.message ?? String(text).slice(0, 200)}`));
          }
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Streams a watch; resolves when the server ends it, rejects on a non-200 answer or a broken connection. */
  watch(path: string, onEvent: (event: WatchLine) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.open("GET", path, {}, signal);
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
