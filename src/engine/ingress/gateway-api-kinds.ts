import { sleep } from "../lb/backoff.js";
import { type KubeApi, KubeApiError } from "../kube/kube-http.js";
import { GATEWAY_GROUP, type RouteKind } from "./gateway-views.js";

export type GatewayApiKind = "Gateway" | RouteKind;

const WANTED: Record<string, GatewayApiKind> = {
  gateways: "Gateway",
  httproutes: "HTTPRoute",
  grpcroutes: "GRPCRoute",
  tlsroutes: "TLSRoute",
};

export interface ServedKind {
  readonly kind: GatewayApiKind;
  readonly version: string;
  /** The collection's path, for list and watch. */
  readonly path: string;
}

interface ApiGroup {
  versions?: { version: string }[];
  preferredVersion?: { version: string };
}

/**
 * Which Gateway API kinds the cluster serves, and at which version (the group's preferred version first, then the
 * others in the apiserver's order: TLSRoute is v1alpha2 while Gateway and HTTPRoute are v1). None while the CRDs are
 * not installed (the group answers 404).
 */
export async function servedGatewayKinds(api: KubeApi): Promise<Map<GatewayApiKind, ServedKind>> {
  const served = new Map<GatewayApiKind, ServedKind>();
  let group: ApiGroup;
  try {
    group = (await api.call<ApiGroup>("GET", `/apis/${GATEWAY_GROUP}`)).body;
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return served;
    throw error;
  }
  const versions = (group.versions ?? []).map((v) => v.version);
  const preferred = group.preferredVersion?.version;
  const ordered = preferred ? [preferred, ...versions.filter((v) => v !== preferred)] : versions;
  for (const version of ordered) {
    let resources: { name: string }[];
    try {
      resources =
        (await api.call<{ resources?: { name: string }[] }>("GET", `/apis/${GATEWAY_GROUP}/${version}`)).body
          .resources ?? [];
    } catch (error) {
      // A version that went away between the two reads.
      if (error instanceof KubeApiError && error.status === 404) continue;
      throw error;
    }
    for (const { name } of resources) {
      const kind = WANTED[name];
      if (kind && !served.has(kind))
        served.set(kind, { kind, version, path: `/apis/${GATEWAY_GROUP}/${version}/${name}` });
    }
  }
  return served;
}

const ALL_GATEWAY_KINDS = Object.values(WANTED).length;

export interface GatewayApiPollerOptions {
  /** At most one poll per interval; a minute by default. */
  readonly intervalMs?: number;
  readonly onKinds: (kinds: Map<GatewayApiKind, ServedKind>) => void;
  readonly onError: (error: unknown) => void;
}

/**
 * Notices Gateway API CRDs installed (or removed) while running. Until every kind we read is served, it asks the
 * discovery endpoint once per interval; once all are, it asks nothing until woken (a watch of a kind answered 404,
 * the cluster came back elsewhere), and then still not before the interval since the last poll has passed.
 */
export class GatewayApiPoller {
  private readonly abort = new AbortController();
  private running: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private firstDone!: () => void;
  readonly firstPoll: Promise<void>;
  polls = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly options: GatewayApiPollerOptions,
  ) {
    this.firstPoll = new Promise((resolve) => (this.firstDone = resolve));
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Poll again as soon as the interval allows. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wakeUp?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const interval = this.options.intervalMs ?? 60_000;
    while (!this.abort.signal.aborted) {
      const began = Date.now();
      this.woken = false;
      let complete = false;
      this.polls++;
      try {
        const kinds = await servedGatewayKinds(this.api);
        if (this.abort.signal.aborted) break;
        this.options.onKinds(kinds);
        complete = kinds.size === ALL_GATEWAY_KINDS;
      } catch (error) {
        if (this.abort.signal.aborted) break;
        this.options.onError(error);
      }
      this.firstDone();
      if (complete && !this.woken) await new Promise<void>((resolve) => (this.wakeUp = resolve));
      this.wakeUp = null;
      await sleep(Math.max(0, interval - (Date.now() - began)), this.abort.signal);
    }
    this.firstDone();
  }
}
