import type { KubeSim } from "./kube-sim.js";
import type { KubeObject } from "./object-store.js";
import { KINDS } from "./resource-kinds.js";

/**
 * Objects as users and controllers write them, for the Ingress and Gateway tests: the pure tests read them as they
 * are, and `applyAll` puts them into the simulator (status through the status subresource, as a controller or the
 * kubelet writes it).
 */

export const NODE_IP = "192.168.49.2";

export const NGINX_LABELS = {
  "app.kubernetes.io/name": "ingress-nginx",
  "app.kubernetes.io/instance": "ingress-nginx",
  "app.kubernetes.io/component": "controller",
};

/** A stable creation time, so "oldest first" is testable without waiting. */
export function createdAt(second: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString().replace(/\.\d+Z$/, "Z");
}

export function namespace(name: string): KubeObject {
  return { kind: "Namespace", metadata: { name }, spec: { finalizers: ["kubernetes"] } };
}

export function ingressClass(name: string, controller: string, options: { isDefault?: boolean } = {}): KubeObject {
  return {
    kind: "IngressClass",
    metadata: {
      name,
      ...(options.isDefault ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } : {}),
    },
    spec: { controller },
  };
}

export function ingress(
  name: string,
  hosts: readonly string[],
  options: {
    namespace?: string;
    className?: string;
    classAnnotation?: string;
    tlsHosts?: readonly string[];
    created?: string;
  } = {},
): KubeObject {
  const backend = { service: { name: "web", port: { number: 80 } } };
  return {
    kind: "Ingress",
    metadata: {
      name,
      namespace: options.namespace ?? "default",
      ...(options.created ? { creationTimestamp: options.created } : {}),
      ...(options.classAnnotation ? { annotations: { "kubernetes.io/ingress.class": options.classAnnotation } } : {}),
    },
    spec: {
      ...(options.className ? { ingressClassName: options.className } : {}),
      ...(options.tlsHosts ? { tls: [{ hosts: [...options.tlsHosts], secretName: `${name}-tls` }] } : {}),
      rules: hosts.map((host) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } })),
    },
  };
}

/** Pod status as the kubelet writes it once the pod runs on the node. */
export function running(hostIP = NODE_IP, ready = true): KubeObject {
  return {
    phase: "Running",
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP: "10.244.0.7",
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  };
}

/** minikube's ingress addon's controller pod (deploy/addons/ingress/ingress-deploy.yaml.tmpl): hostPorts 80 and 443. */
export function nginxControllerPod(
  name: string,
  options: {
    namespace?: string;
    hostPorts?: boolean;
    controllerClass?: string;
    labels?: Record<string, string>;
    status?: KubeObject;
  } = {},
): KubeObject {
  const onNode = options.hostPorts ?? true;
  return {
    kind: "Pod",
    metadata: { name, namespace: options.namespace ?? "ingress-nginx", labels: options.labels ?? NGINX_LABELS },
    spec: {
      nodeName: "minikube",
      containers: [
        {
          name: "controller",
          image: "registry.k8s.io/ingress-nginx/controller:v1.12.1",
          args: [
            "/nginx-ingress-controller",
            "--election-id=ingress-nginx-leader",
            `--controller-class=${options.controllerClass ?? "k8s.io/ingress-nginx"}`,
            "--validating-webhook=:8443",
          ],
          ports: [
            { name: "http", containerPort: 80, protocol: "TCP", ...(onNode ? { hostPort: 80 } : {}) },
            { name: "https", containerPort: 443, protocol: "TCP", ...(onNode ? { hostPort: 443 } : {}) },
            { name: "webhook", containerPort: 8443, protocol: "TCP" },
          ],
        },
      ],
    },
    status: options.status ?? running(),
  };
}

export function service(
  name: string,
  options: {
    namespace?: string;
    type?: "ClusterIP" | "NodePort" | "LoadBalancer";
    labels?: Record<string, string>;
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; appProtocol?: string }[];
    clusterIP?: string;
    externalIP?: string;
  } = {},
): KubeObject {
  return {
    kind: "Service",
    metadata: {
      name,
      namespace: options.namespace ?? "ingress-nginx",
      labels: options.labels ?? NGINX_LABELS,
    },
    spec: {
      type: options.type ?? "NodePort",
      ...(options.clusterIP ? { clusterIP: options.clusterIP } : {}),
      ...(options.selector !== undefined ? { selector: options.selector } : { selector: NGINX_LABELS }),
      ports: (
        options.ports ?? [
          { name: "http", port: 80, appProtocol: "http" },
          { name: "https", port: 443, appProtocol: "https" },
        ]
      ).map((p) => ({ protocol: "TCP", targetPort: p.port, ...p })),
    },
    ...(options.externalIP
      ? { status: { loadBalancer: { ingress: [{ ip: options.externalIP, ipMode: "VIP" }] } } }
      : {}),
  };
}

/** Everything of minikube's ingress addon the engine reads. */
export function minikubeIngressAddon(nodeIp = NODE_IP): KubeObject[] {
  return [
    namespace("ingress-nginx"),
    ingressClass("nginx", "k8s.io/ingress-nginx", { isDefault: true }),
    nginxControllerPod("ingress-nginx-controller-6f9f8c7d5-x2x8q", { status: running(nodeIp) }),
    service("ingress-nginx-controller", { clusterIP: "10.96.200.10" }),
    service("ingress-nginx-controller-admission", {
      type: "ClusterIP",
      ports: [{ name: "https-webhook", port: 443, appProtocol: "https" }],
    }),
  ];
}

/** ingress-nginx installed without hostPorts (its Helm chart's way): reached through its Service's ClusterIP. */
export function ingressBehindClusterIp(clusterIP: string, nodeIp = NODE_IP): KubeObject[] {
  return [
    namespace("ingress-nginx"),
    ingressClass("nginx", "k8s.io/ingress-nginx", { isDefault: true }),
    nginxControllerPod("ingress-nginx-controller-7d4b9c8f6-k9z2m", { hostPorts: false, status: running(nodeIp) }),
    service("ingress-nginx-controller", { type: "ClusterIP", clusterIP }),
  ];
}

export interface ListenerSpec {
  name: string;
  port: number;
  protocol: "HTTP" | "HTTPS" | "TLS" | "TCP";
  hostname?: string;
  allowedRoutes?: KubeObject;
}

export function gateway(
  name: string,
  listeners: readonly ListenerSpec[],
  options: { namespace?: string; addresses?: readonly string[]; created?: string; accepted?: boolean } = {},
): KubeObject {
  const conditions =
    options.accepted === false
      ? [{ type: "Accepted", status: "False", reason: "Invalid", message: "unsupported listener" }]
      : undefined;
  return {
    kind: "Gateway",
    metadata: {
      name,
      namespace: options.namespace ?? "default",
      ...(options.created ? { creationTimestamp: options.created } : {}),
    },
    spec: { gatewayClassName: "eg", listeners: listeners.map((l) => ({ ...l })) },
    ...(options.addresses || conditions
      ? {
          status: {
            ...(options.addresses
              ? { addresses: options.addresses.map((value) => ({ type: "IPAddress", value })) }
              : {}),
            ...(conditions ? { conditions } : {}),
          },
        }
      : {}),
  };
}

export interface ParentSpec {
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
  /** What the implementation wrote in status.parents for this ref: Accepted True or False; absent: nothing yet. */
  accepted?: boolean;
}

export function route(
  kind: "HTTPRoute" | "GRPCRoute" | "TLSRoute",
  name: string,
  parents: readonly ParentSpec[],
  options: { namespace?: string; hostnames?: readonly string[] } = {},
): KubeObject {
  const parentRefs = parents.map(({ accepted: _accepted, ...ref }) => ref);
  const judged = parents.filter((p) => p.accepted !== undefined);
  return {
    kind,
    metadata: { name, namespace: options.namespace ?? "default" },
    spec: { parentRefs, ...(options.hostnames ? { hostnames: [...options.hostnames] } : {}) },
    ...(judged.length > 0
      ? {
          status: {
            parents: judged.map(({ accepted, ...parentRef }) => ({
              parentRef,
              controllerName: "gateway.envoyproxy.io/gatewayclass-controller",
              conditions: [
                {
                  type: "Accepted",
                  status: accepted ? "True" : "False",
                  reason: accepted ? "Accepted" : "NotAllowedByListeners",
                },
              ],
            })),
          },
        }
      : {}),
  };
}

export function gatewayService(
  gatewayName: string,
  options: { namespace?: string; externalIP?: string; clusterIP?: string } = {},
) {
  return service(`envoy-${gatewayName}`, {
    namespace: options.namespace ?? "default",
    type: "LoadBalancer",
    labels: { "gateway.networking.k8s.io/gateway-name": gatewayName },
    selector: { "gateway.networking.k8s.io/gateway-name": gatewayName },
    ports: [{ name: "http-80", port: 80 }],
    ...(options.clusterIP ? { clusterIP: options.clusterIP } : {}),
    ...(options.externalIP ? { externalIP: options.externalIP } : {}),
  });
}

const PLURALS = Object.fromEntries(Object.values(KINDS).map((k) => [k.kind, k.plural]));

/**
 * Creates (or replaces the spec of) each object, then writes its status through the status subresource, as its
 * controller or the kubelet would. Returns the stored objects.
 */
export function applyAll(sim: KubeSim, objects: readonly KubeObject[]): KubeObject[] {
  return objects.map((object) => {
    const plural = PLURALS[object.kind];
    if (!plural) throw new Error(`no kind ${object.kind} in the simulator`);
    const ns = KINDS[plural]!.namespaced ? (object.metadata.namespace ?? "default") : null;
    const { status, ...rest } = object;
    let stored: KubeObject;
    try {
      const held = sim.store.get(plural, ns, object.metadata.name);
      stored = sim.store.update(
        plural,
        ns,
        object.metadata.name,
        { ...rest, metadata: { ...held.metadata, ...rest.metadata } },
        null,
      );
    } catch (error) {
      if ((error as { code?: number }).code !== 404) throw error;
      stored = sim.store.create(plural, ns, rest);
    }
    if (status === undefined || !KINDS[plural]!.hasStatus) return stored;
    return sim.store.update(plural, ns, object.metadata.name, { ...stored, status }, "status");
  });
}

export function remove(sim: KubeSim, object: KubeObject): void {
  const plural = PLURALS[object.kind]!;
  sim.store.delete(
    plural,
    KINDS[plural]!.namespaced ? (object.metadata.namespace ?? "default") : null,
    object.metadata.name,
  );
}
