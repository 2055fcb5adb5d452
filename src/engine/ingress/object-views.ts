import { z } from "zod";
import { isValidIp } from "../../shared/cidr.js";
import type { Json } from "../kube/kube-http.js";

/**
 * The few fields of each watched object the mapping reads, parsed once when the watch delivers it (whole objects are
 * not kept: 200 Ingresses and their controllers stay small). zod drops every other field; an object missing what it
 * must have is not parsed (null) and so not used.
 */

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
  /** `ns/name`, or `name` for a cluster-scoped object. */
  readonly key: string;
  /** RFC 3339, so that it sorts as text; "" when unknown. */
  readonly createdAt: string;
}

const stringMap = z.record(z.string(), z.string());

export const metadataSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().nullish(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

export function refOf(metadata: z.infer<typeof metadataSchema>): ObjectRef {
  const namespace = metadata.namespace ?? "";
  return {
    namespace,
    name: metadata.name,
    key: namespace ? `${namespace}/${metadata.name}` : metadata.name,
    createdAt: metadata.creationTimestamp ?? "",
  };
}

/** Parses with `schema`, then shapes; null when the object is not of the expected form. */
export function viewParser<S extends z.ZodType, V>(schema: S, shape: (parsed: z.infer<S>) => V): (o: Json) => V | null {
  return (o) => {
    const parsed = schema.safeParse(o);
    return parsed.success ? shape(parsed.data) : null;
  };
}

export interface IngressView {
  readonly ref: ObjectRef;
  readonly className: string | null;
  /** The deprecated `kubernetes.io/ingress.class` annotation, which still picks a class when the field is unset. */
  readonly classAnnotation: string | null;
  /** Every `spec.rules[].host` and `spec.tls[].hosts[]`, as written, without repeats. */
  readonly hosts: readonly string[];
}

export const CLASS_ANNOTATION = "kubernetes.io/ingress.class";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

export const parseIngress = viewParser(
  z.object({
    metadata: metadataSchema,
    spec: z
      .object({
        ingressClassName: z.string().nullish(),
        rules: z.array(z.object({ host: z.string().optional() })).nullish(),
        tls: z.array(z.object({ hosts: z.array(z.string()).nullish() })).nullish(),
      })
      .optional(),
  }),
  ({ metadata, spec }): IngressView => ({
    ref: refOf(metadata),
    className: spec?.ingressClassName || null,
    classAnnotation: metadata.annotations?.[CLASS_ANNOTATION] || null,
    hosts: [
      ...new Set([
        ...(spec?.rules ?? []).flatMap((r) => (r.host ? [r.host] : [])),
        ...(spec?.tls ?? []).flatMap((t) => t.hosts ?? []),
      ]),
    ],
  }),
);

export interface IngressClassView {
  readonly name: string;
  readonly controller: string;
  readonly isDefault: boolean;
  readonly createdAt: string;
}

export const parseIngressClass = viewParser(
  z.object({ metadata: metadataSchema, spec: z.object({ controller: z.string().min(1) }) }),
  ({ metadata, spec }): IngressClassView => ({
    name: metadata.name,
    controller: spec.controller,
    // The API's rule: exactly "true" (plugin/pkg/admission/network/defaultingressclass).
    isDefault: metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true",
    createdAt: metadata.creationTimestamp ?? "",
  }),
);

export interface PodPort {
  readonly containerPort: number;
  /** The port on the node: `hostPort`, or the container port itself with `hostNetwork`; null when not on the node. */
  readonly hostPort: number | null;
  readonly name: string | null;
}

export interface PodView {
  readonly ref: ObjectRef;
  readonly labels: Readonly<Record<string, string>>;
  readonly hostIP: string | null;
  readonly phase: string;
  readonly ready: boolean;
  readonly terminating: boolean;
  /** TCP ports of every container. */
  readonly ports: readonly PodPort[];
  /** Every container's command and args, in order (a controller's class flag is among them). */
  readonly args: readonly string[];
}

const containerSchema = z.object({
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
  ports: z
    .array(
      z.object({
        containerPort: z.number().int(),
        hostPort: z.number().int().nullish(),
        name: z.string().nullish(),
        protocol: z.string().nullish(),
      }),
    )
    .nullish(),
});

export const parsePod = viewParser(
  z.object({
    metadata: metadataSchema,
    spec: z.object({ hostNetwork: z.boolean().nullish(), containers: z.array(containerSchema) }),
    status: z
      .object({
        phase: z.string().nullish(),
        hostIP: z.string().nullish(),
        conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
      })
      .optional(),
  }),
  ({ metadata, spec, status }): PodView => ({
    ref: refOf(metadata),
    labels: metadata.labels ?? {},
    hostIP: status?.hostIP && isValidIp(status.hostIP) ? status.hostIP : null,
    phase: status?.phase ?? "Pending",
    ready: (status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    terminating: Boolean(metadata.deletionTimestamp),
    ports: spec.containers.flatMap((c) =>
      (c.ports ?? [])
        .filter((p) => (p.protocol ?? "TCP") === "TCP")
        .map((p) => ({
          containerPort: p.containerPort,
          hostPort: p.hostPort ? p.hostPort : spec.hostNetwork ? p.containerPort : null,
          name: p.name ?? null,
        })),
    ),
    args: spec.containers.flatMap((c) => [...(c.command ?? []), ...(c.args ?? [])]),
  }),
);

export interface ServicePortView {
  readonly port: number;
  readonly name: string | null;
  readonly appProtocol: string | null;
}

export interface ServiceView {
  readonly ref: ObjectRef;
  readonly labels: Readonly<Record<string, string>>;
  /** null: the Service selects no pods itself (its endpoints are managed by someone else). */
  readonly selector: Readonly<Record<string, string>> | null;
  readonly type: string;
  readonly clusterIP: string | null;
  /** `status.loadBalancer.ingress[].ip`, in order. */
  readonly externalIPs: readonly string[];
  /** TCP ports. */
  readonly ports: readonly ServicePortView[];
}

export const parseService = viewParser(
  z.object({
    metadata: metadataSchema,
    spec: z.object({
      type: z.string().nullish(),
      selector: stringMap.nullish(),
      clusterIP: z.string().nullish(),
      ports: z
        .array(
          z.object({
            port: z.number().int(),
            name: z.string().nullish(),
            protocol: z.string().nullish(),
            appProtocol: z.string().nullish(),
          }),
        )
        .nullish(),
    }),
    status: z
      .object({
        loadBalancer: z.object({ ingress: z.array(z.object({ ip: z.string().nullish() })).nullish() }).nullish(),
      })
      .nullish(),
  }),
  ({ metadata, spec, status }): ServiceView => ({
    ref: refOf(metadata),
    labels: metadata.labels ?? {},
    selector: spec.selector && Object.keys(spec.selector).length > 0 ? spec.selector : null,
    type: spec.type ?? "ClusterIP",
    clusterIP: spec.clusterIP && isValidIp(spec.clusterIP) ? spec.clusterIP : null,
    externalIPs: (status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip && isValidIp(i.ip) ? [i.ip] : [])),
    ports: (spec.ports ?? [])
      .filter((p) => (p.protocol ?? "TCP") === "TCP")
      .map((p) => ({ port: p.port, name: p.name ?? null, appProtocol: p.appProtocol ?? null })),
  }),
);
