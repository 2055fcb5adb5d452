import { Socket } from "node:net";

export interface ProbeResult {
  readonly target: string;
  readonly ok: boolean;
  readonly latencyMs?: number;
  readonly error?: string;
  readonly checkedAt: string;
}

/** TCP connect through the route, to the `kubernetes` Service (first address of the service CIDR) on 443. */
export function probeTcp(host: string, port: number, timeoutMs = 1500, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve) => {
    const socket = new Socket();
    const onAbort = () => finish("cancelled");
    const finish = (error?: string) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      const checkedAt = new Date().toISOString();
      resolve(
        error === undefined
          ? { target, ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10, checkedAt }
          : { target, ok: false, error, checkedAt },
      );
    };
    if (signal?.aborted) return finish("cancelled");
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => finish(`no answer within ${timeoutMs} ms`));
    socket.once("connect", () => finish());
    socket.once("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.connect(port, host);
  });
}

/**
 * Is the node there at all? Any answer counts, a refused connection too: only
 * a running machine's kernel refuses. Silence or "unreachable" means gone.
 * This is the cheap check a healthy tunnel makes instead of running minikube.
 */
export function nodeAnswers(host: string, port: number, timeoutMs = 2000, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const finish = (alive: boolean) => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(alive);
    };
    const onAbort = () => finish(true);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      finish(error.code === "ECONNREFUSED" || error.code === "ECONNRESET"),
    );
    socket.connect(port, host);
  });
}
