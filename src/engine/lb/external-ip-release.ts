import { type Json, KubeApiError, type KubeApi } from "../kube/kube-http.js";
import { listAll } from "../kube/kube-connection.js";
import { ASSIGNED_ANNOTATION, type LbService, ownership, toLbService } from "./lb-service.js";

export function servicePath(service: Pick<LbService, "namespace" | "name">): string {
  return `/api/v1/namespaces/${encodeURIComponent(service.namespace)}/services/${encodeURIComponent(service.name)}`;
}

/**
 * Takes back the external IPs we set, only while they are still as we set them: the
 * patch carries the resourceVersion, and a 409 means "read again and judge
 * again" (up to 3 times). Used by the controller's stop and by cleanup after
 * a tunnel died without stopping.
 */
export async function releaseExternalIps(
  client: KubeApi,
  service: LbService,
  attempt = 0,
): Promise<"released" | "not-ours" | "gone"> {
  const body = {
    metadata: { resourceVersion: service.resourceVersion, annotations: { [ASSIGNED_ANNOTATION]: null } },
    // `status.loadBalancer.ingress` is the API's field for a Service's external IPs.
    status: { loadBalancer: { ingress: null } },
  };
  try {
    await client.call("PATCH", `${servicePath(service)}/status`, body, "application/merge-patch+json");
    return "released";
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return "gone";
    if (!(error instanceof KubeApiError) || error.status !== 409 || attempt >= 3) throw error;
  }
  let current: LbService;
  try {
    current = toLbService((await client.call<Json>("GET", servicePath(service))).body);
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return "gone";
    throw error;
  }
  return ownership(current) === "ours" ? releaseExternalIps(client, current, attempt + 1) : "not-ours";
}

export interface StaleExternalIpReport {
  readonly released: string[];
  readonly failures: string[];
}

/** Every Service whose external IPs we set and nobody changed since: for a profile whose tunnel is gone. */
export async function releaseAllOurExternalIps(client: KubeApi): Promise<StaleExternalIpReport> {
  const { items } = await listAll<Json>(client, "/api/v1/services");
  const ours = items.map(toLbService).filter((s) => ownership(s) === "ours");
  const released: string[] = [];
  const failures: string[] = [];
  await Promise.all(
    ours.map(async (service) => {
      try {
        if ((await releaseExternalIps(client, service)) === "released") released.push(service.key);
      } catch (error) {
        failures.push(`${service.key}: ${(error as Error).message}`);
      }
    }),
  );
  return { released: released.sort(), failures };
}
