import { hostname } from "node:os";
import type { KubeHttp } from "../kube/kube-http.js";
import type { LbService } from "./lb-service.js";

const COMPONENT = "minikube-tunnel";

/** core/v1 Events on the Service, CamelCase reasons; sending never blocks or fails reconciliation. */
export class EventRecorder {
  private readonly inFlight = new Set<Promise<void>>();
  sent = 0;
  failed = 0;

  constructor(
    private readonly client: KubeHttp,
    private readonly enabled: boolean,
  ) {}

  record(service: LbService, type: "Normal" | "Warning", reason: string, message: string): void {
    if (!this.enabled) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const event = {
      metadata: { name: `${service.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`, namespace: service.namespace },
      involvedObject: { apiVersion: "v1", kind: "Service", namespace: service.namespace, name: service.name, uid: service.uid, resourceVersion: service.resourceVersion },
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
    const sending = this.client
      .call("POST", `/api/v1/namespaces/${encodeURIComponent(service.namespace)}/events`, event)
      .then(() => {
        this.sent++;
      })
      .catch(() => {
        this.failed++;
      })
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
