import { hostname } from "node:os";
import type { KubeApi } from "../kube/kube-http.js";
import type { LbService } from "./lb-service.js";

const COMPONENT = "minikube-tunnel";

/**
 * core/v1 Events on the Service, CamelCase reasons. Sending never blocks or
 * fails reconciliation: events go out only while no status write is waiting,
 * a few at a time, and like client-go's broadcaster the backlog is bounded,
 * dropping the oldest.
 */
export class EventRecorder {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly backlog: { namespace: string; body: unknown }[] = [];
  private readonly maxInFlight = 4;
  private readonly maxBacklog = 1000;
  sent = 0;
  failed = 0;
  dropped = 0;
  private flushing = false;

  constructor(
    private readonly client: KubeApi,
    private readonly enabled: boolean,
    /** Whether status work is out of the way; events wait while it is not. */
    private readonly mayRun: () => boolean = () => true,
  ) {}

  record(service: LbService, type: "Normal" | "Warning", reason: string, message: string): void {
    if (!this.enabled) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const event = {
      metadata: {
        name: `${service.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
        namespace: service.namespace,
      },
      involvedObject: {
        apiVersion: "v1",
        kind: "Service",
        namespace: service.namespace,
        name: service.name,
        uid: service.uid,
        resourceVersion: service.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: hostname(),
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    this.backlog.push({ namespace: service.namespace, body: event });
    if (this.backlog.length > this.maxBacklog) {
      this.backlog.shift();
      this.dropped++;
    }
    this.pump();
  }

  pump(): void {
    while ((this.flushing || this.mayRun()) && this.inFlight.size < this.maxInFlight && this.backlog.length > 0) {
      const next = this.backlog.shift()!;
      const sending: Promise<void> = this.client
        .call("POST", `/api/v1/namespaces/${encodeURIComponent(next.namespace)}/events`, next.body)
        .then(() => {
          this.sent++;
        })
        .catch(() => {
          this.failed++;
        })
        .finally(() => {
          this.inFlight.delete(sending);
          this.pump();
        });
      this.inFlight.add(sending);
    }
  }

  /** Sends what is queued (ignoring `mayRun`: used on stop) and waits for it. */
  async flush(): Promise<void> {
    this.flushing = true;
    try {
      this.pump();
      while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    } finally {
      this.flushing = false;
    }
  }
}
