import { type KubeApi, KubeHttp, type KubeResponse, type WatchLine } from "./kube-http.js";

export type KubeClientLoader = () => Promise<KubeHttp>;

/**
 * A client that follows the cluster: after a connection-level failure the
 * caller asks it to `reload`, which reads the kubeconfig again. minikube
 * rewrites the kubeconfig after `minikube stop`/`start` (the docker driver
 * publishes the API on a new port), so a client built once would talk to a
 * dead port forever.
 */
export class KubeConnection implements KubeApi {
  private constructor(
    private client: KubeHttp,
    private readonly load: KubeClientLoader,
  ) {}

  static async open(load: KubeClientLoader): Promise<KubeConnection> {
    return new KubeConnection(await load(), load);
  }

  call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse<T>> {
    return this.client.call<T>(method, path, body, contentType);
  }

  watch(path: string, onEvent: (event: WatchLine) => void, signal: AbortSignal): Promise<void> {
    return this.client.watch(path, onEvent, signal);
  }

  /** True when the kubeconfig now names another server or other credentials, and the client was rebuilt. */
  async reload(): Promise<boolean> {
    let fresh: KubeHttp;
    try {
      fresh = await this.load();
    } catch {
      // A kubeconfig being rewritten, or a context not back yet: keep what we have and try again later.
      return false;
    }
    if (fresh.identity === this.client.identity) {
      fresh.close();
      return false;
    }
    const old = this.client;
    this.client = fresh;
    old.close();
    return true;
  }

  close(): void {
    this.client.close();
  }
}

/** Every item of a collection, a page at a time (limit/continue), as one consistent list with its resourceVersion. */
export async function listAll<T>(
  api: KubeApi,
  path: string,
  pageSize = 500,
): Promise<{ items: T[]; resourceVersion: string }> {
  const items: T[] = [];
  let next = "";
  for (;;) {
    const separator = path.includes("?") ? "&" : "?";
    const { body } = await api.call<{ metadata?: { resourceVersion?: string; continue?: string }; items?: T[] }>(
      "GET",
      `${path}${separator}limit=${pageSize}${next ? `&continue=${encodeURIComponent(next)}` : ""}`,
    );
    items.push(...(body.items ?? []));
    next = body.metadata?.continue ?? "";
    if (!next) return { items, resourceVersion: body.metadata?.resourceVersion ?? "" };
  }
}
