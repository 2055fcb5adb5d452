import { ipFamily } from "../../shared/cidr.js";
import { type IngressControllerKind, labelsMatch, podController } from "./controller-catalog.js";
import type { NameAddress, ServedPort } from "./name-types.js";
import type { PodView, ServiceView } from "./object-views.js";

/** An address, or why there is none (shown beside the names it leaves unmapped). */
export type AddressResult = { readonly address: NameAddress } | { readonly reason: string };

const HTTP_NAMES = new Set(["http", "web"]);
/** A pod in these phases holds no port on its node any more. */
const ENDED = new Set(["Succeeded", "Failed"]);
const HTTPS_NAMES = new Set(["https", "websecure"]);

/**
 * What a port serves, from how controllers name and number them: `http`/`https` (ingress-nginx), `web`/`websecure`
 * (Traefik), an `http-…`/`https-…` prefix, an appProtocol, or the numbers 80 and 443. An admission webhook's port
 * (ingress-nginx's `https-webhook` on 443) serves no Ingress host.
 */
export function portProtocol(
  name: string | null,
  numbers: readonly number[],
  appProtocol: string | null = null,
): ServedPort["protocol"] | null {
  const n = (name ?? "").toLowerCase();
  if (n.includes("webhook")) return null;
  if (appProtocol === "http" || appProtocol === "https") return appProtocol;
  if (HTTP_NAMES.has(n) || n.startsWith("http-")) return "http";
  if (HTTPS_NAMES.has(n) || n.startsWith("https-")) return "https";
  if (numbers.includes(443)) return "https";
  if (numbers.includes(80)) return "http";
  return null;
}

export function sortPorts(ports: readonly ServedPort[]): ServedPort[] {
  const seen = new Map<string, ServedPort>();
  for (const p of ports) seen.set(`${p.port}/${p.protocol}`, p);
  return [...seen.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function hostPorts(pod: PodView): ServedPort[] {
  return sortPorts(
    pod.ports.flatMap((p) => {
      if (p.hostPort === null) return [];
      const protocol = portProtocol(p.name, [p.containerPort, p.hostPort]);
      return protocol ? [{ port: p.hostPort, protocol }] : [];
    }),
  );
}

/** Ready pods first, then running ones; then by node address and name, so the choice is stable. */
function podRank(pod: PodView): string {
  return `${pod.ready ? 0 : 1}${pod.phase === "Running" ? 0 : 1}|${pod.hostIP}|${pod.ref.key}`;
}

export function servicePorts(service: ServiceView): ServedPort[] {
  return sortPorts(
    service.ports.flatMap((p) => {
      const protocol = portProtocol(p.name, [p.port], p.appProtocol);
      return protocol ? [{ port: p.port, protocol }] : [];
    }),
  );
}

/** An IPv4 address first: what a hosts-file line and most clients try first. */
export function preferredIp(ips: readonly string[]): string | null {
  return ips.find((ip) => ipFamily(ip) === 4) ?? ips[0] ?? null;
}

/** A Service's external IP when it has one, else its ClusterIP; null for a headless Service. */
export function serviceAddress(service: ServiceView, ports: readonly ServedPort[]): NameAddress | null {
  const external = service.type === "LoadBalancer" ? preferredIp(service.externalIPs) : null;
  if (external) return { kind: "service-external", ip: external, ports, service: service.ref.key };
  if (service.clusterIP) return { kind: "service-clusterip", ip: service.clusterIP, ports, service: service.ref.key };
  return null;
}

/**
 * Where an ingress controller answers 80/443 from inside the cluster (docs/architecture.md, "Ingress and Gateway
 * names"): its pods' hostPorts on their node (minikube's addon), else the Service that selects its pods, its external
 * IP if it is a LoadBalancer that has one, its ClusterIP otherwise. `pods` and `services` are the catalog-selected
 * ones.
 */
export function controllerAddress(
  controller: string,
  pods: readonly PodView[],
  services: readonly ServiceView[],
  catalog: readonly IngressControllerKind[],
): AddressResult {
  const own = pods.filter((p) => podController(p, catalog) === controller);
  if (own.length === 0)
    return {
      reason: catalog.some((c) => c.controller === controller)
        ? `no pod of ingress controller ${controller} found`
        : `ingress controller ${controller} is not one minikube-tunnel can find (it knows ${catalog.map((c) => c.controller).join(", ")})`,
    };
  const onNodes = own
    .filter((p) => !p.terminating && !ENDED.has(p.phase) && p.hostIP !== null && hostPorts(p).length > 0)
    .sort((a, b) => podRank(a).localeCompare(podRank(b)));
  const pod = onNodes[0];
  if (pod) return { address: { kind: "node-hostport", ip: pod.hostIP!, ports: hostPorts(pod) } };
  const namespaces = new Set(own.map((p) => p.ref.namespace));
  const candidates = services
    .filter(
      (s) =>
        namespaces.has(s.ref.namespace) &&
        s.selector !== null &&
        own.some((p) => p.ref.namespace === s.ref.namespace && labelsMatch(s.selector!, p.labels)),
    )
    .map((s) => ({ service: s, address: serviceAddress(s, servicePorts(s)) }))
    .filter((c) => c.address !== null && c.address.ports.length > 0)
    // The one serving most of 80/443, then an external IP over a ClusterIP, then by name.
    .sort(
      (a, b) =>
        b.address!.ports.length - a.address!.ports.length ||
        Number(b.address!.kind === "service-external") - Number(a.address!.kind === "service-external") ||
        a.service.ref.key.localeCompare(b.service.ref.key),
    );
  const chosen = candidates[0];
  if (chosen) return { address: chosen.address! };
  return { reason: `ingress controller ${controller} has no hostPort on a node and no Service for http or https` };
}
