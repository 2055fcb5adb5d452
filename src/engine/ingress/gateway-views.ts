import { z } from "zod";
import { isValidIp } from "../../shared/cidr.js";
import type { Json } from "../kube/kube-http.js";
import { type ObjectRef, metadataSchema, refOf, viewParser } from "./object-views.js";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

export type RouteKind = "HTTPRoute" | "GRPCRoute" | "TLSRoute";
export const ROUTE_KINDS: readonly RouteKind[] = ["HTTPRoute", "GRPCRoute", "TLSRoute"];

export interface ListenerView {
  readonly name: string;
  /** null: no hostname, every name (Gateway API's `*`). */
  readonly hostname: string | null;
  readonly port: number;
  readonly protocol: string;
  /** `allowedRoutes.kinds`; null for the protocol's defaults. */
  readonly allowedKinds: readonly { readonly group: string; readonly kind: string }[] | null;
  /** `allowedRoutes.namespaces.from`; Gateway API's default is Same. */
  readonly namespaces: "Same" | "All" | "Selector";
}

export interface GatewayView {
  readonly ref: ObjectRef;
  readonly listeners: readonly ListenerView[];
  /** `status.addresses` of type IPAddress (the type's default), in order. */
  readonly addresses: readonly string[];
  /** The message of an `Accepted` condition that is False; null while accepted or not yet judged. */
  readonly notAccepted: string | null;
}

const conditions = z.array(z.object({ type: z.string(), status: z.string(), message: z.string().nullish() })).nullish();

export const parseGateway = viewParser(
  z.object({
    metadata: metadataSchema,
    spec: z.object({
      listeners: z.array(
        z.object({
          name: z.string(),
          hostname: z.string().nullish(),
          port: z.number().int(),
          protocol: z.string(),
          allowedRoutes: z
            .object({
              namespaces: z.object({ from: z.enum(["Same", "All", "Selector"]).nullish() }).nullish(),
              kinds: z.array(z.object({ group: z.string().nullish(), kind: z.string() })).nullish(),
            })
            .nullish(),
        }),
      ),
    }),
    status: z
      .object({
        addresses: z.array(z.object({ type: z.string().nullish(), value: z.string() })).nullish(),
        conditions,
      })
      .nullish(),
  }),
  ({ metadata, spec, status }): GatewayView => {
    const refused = (status?.conditions ?? []).find((c) => c.type === "Accepted" && c.status === "False");
    return {
      ref: refOf(metadata),
      listeners: spec.listeners.map((l) => ({
        name: l.name,
        hostname: l.hostname || null,
        port: l.port,
        protocol: l.protocol,
        allowedKinds: l.allowedRoutes?.kinds
          ? l.allowedRoutes.kinds.map((k) => ({ group: k.group ?? GATEWAY_GROUP, kind: k.kind }))
          : null,
        namespaces: l.allowedRoutes?.namespaces?.from ?? "Same",
      })),
      addresses: (status?.addresses ?? []).flatMap((a) =>
        (a.type ?? "IPAddress") === "IPAddress" && isValidIp(a.value) ? [a.value] : [],
      ),
      notAccepted: refused ? (refused.message ?? "not accepted") : null,
    };
  },
);

/** A parentRef with the API's defaults filled in, so two refs to the same listener compare equal. */
export interface ParentRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly sectionName: string | null;
  readonly port: number | null;
}

export interface RouteView {
  readonly kind: RouteKind;
  readonly ref: ObjectRef;
  readonly hostnames: readonly string[];
  readonly parentRefs: readonly ParentRef[];
  /** `status.parents`: per parentRef, Accepted True (true), False (false), or not yet judged (null). */
  readonly parents: readonly { readonly ref: ParentRef; readonly accepted: boolean | null }[];
}

const parentRefSchema = z.object({
  group: z.string().nullish(),
  kind: z.string().nullish(),
  namespace: z.string().nullish(),
  name: z.string(),
  sectionName: z.string().nullish(),
  port: z.number().int().nullish(),
});

function parentRef(raw: z.infer<typeof parentRefSchema>, routeNamespace: string): ParentRef {
  return {
    group: raw.group ?? GATEWAY_GROUP,
    kind: raw.kind ?? "Gateway",
    namespace: raw.namespace || routeNamespace,
    name: raw.name,
    sectionName: raw.sectionName || null,
    port: raw.port ?? null,
  };
}

export function sameParentRef(a: ParentRef, b: ParentRef): boolean {
  return (
    a.group === b.group &&
    a.kind === b.kind &&
    a.namespace === b.namespace &&
    a.name === b.name &&
    a.sectionName === b.sectionName &&
    a.port === b.port
  );
}

const routeSchema = z.object({
  metadata: metadataSchema,
  spec: z.object({ hostnames: z.array(z.string()).nullish(), parentRefs: z.array(parentRefSchema).nullish() }),
  status: z.object({ parents: z.array(z.object({ parentRef: parentRefSchema, conditions })).nullish() }).nullish(),
});

export function routeParser(kind: RouteKind): (o: Json) => RouteView | null {
  return viewParser(routeSchema, ({ metadata, spec, status }): RouteView => {
    const namespace = metadata.namespace ?? "";
    return {
      kind,
      ref: refOf(metadata),
      hostnames: spec.hostnames ?? [],
      parentRefs: (spec.parentRefs ?? []).map((r) => parentRef(r, namespace)),
      parents: (status?.parents ?? []).map((p) => {
        const accepted = (p.conditions ?? []).find((c) => c.type === "Accepted");
        return {
          ref: parentRef(p.parentRef, namespace),
          accepted: accepted?.status === "True" ? true : accepted?.status === "False" ? false : null,
        };
      }),
    };
  });
}
