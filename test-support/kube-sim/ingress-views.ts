import type { ClusterObjects } from "../../src/engine/ingress/cluster-names.js";
import { type RouteKind, parseGateway, routeParser } from "../../src/engine/ingress/gateway-views.js";
import { parseIngress, parseIngressClass, parsePod, parseService } from "../../src/engine/ingress/object-views.js";
import type { KubeObject } from "./object-store.js";

function parsed<T>(objects: readonly KubeObject[], kind: string, parse: (o: KubeObject) => T | null): T[] {
  return objects
    .filter((o) => o.kind === kind)
    .map((o) => {
      const view = parse(o);
      if (view === null) throw new Error(`fixture ${kind} ${o.metadata?.name} does not parse`);
      return view;
    });
}

/**
 * Raw objects (test-support/kube-sim/network-fixtures.ts) as the engine's watches hold them. Every Service goes to
 * both Service lists: the mapping picks what is its own, as it must when the selectors overlap.
 */
export function clusterObjects(objects: readonly KubeObject[]): ClusterObjects {
  const services = parsed(objects, "Service", parseService);
  return {
    ingresses: parsed(objects, "Ingress", parseIngress),
    classes: parsed(objects, "IngressClass", parseIngressClass),
    pods: parsed(objects, "Pod", parsePod),
    controllerServices: services,
    gateways: parsed(objects, "Gateway", parseGateway),
    routes: (["HTTPRoute", "GRPCRoute", "TLSRoute"] as RouteKind[]).flatMap((kind) =>
      parsed(objects, kind, routeParser(kind)),
    ),
    gatewayServices: services,
  };
}
