import { isValidIp } from "../../src/shared/cidr.js";
import { ApiError, type KubeObject } from "./api-error.js";

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IS_DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class";
const CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/** The apiserver's Ingress host rule: a DNS-1123 subdomain, or one with a single leading `*.` label; never an IP. */
function checkHost(ingress: KubeObject, field: string, host: unknown): void {
  const name = String(ingress.metadata?.name);
  const text = String(host);
  const bare = text.startsWith("*.") ? text.slice(2) : text;
  if (isValidIp(text))
    throw new ApiError(
      422,
      "Invalid",
      `Ingress.networking.k8s.io "${name}" is invalid: ${field}: Invalid value: "${text}": must be a DNS name, not an IP address`,
    );
  if (typeof host !== "string" || host.length > 253 || !SUBDOMAIN.test(bare))
    throw new ApiError(
      422,
      "Invalid",
      `Ingress.networking.k8s.io "${name}" is invalid: ${field}: Invalid value: "${text}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
    );
}

function validateIngress(ingress: KubeObject): void {
  for (const [i, rule] of (ingress.spec?.rules ?? []).entries())
    if (rule.host !== undefined && rule.host !== "") checkHost(ingress, `spec.rules[${i}].host`, rule.host);
  for (const [i, tls] of (ingress.spec?.tls ?? []).entries())
    for (const [j, host] of (tls.hosts ?? []).entries()) checkHost(ingress, `spec.tls[${i}].hosts[${j}]`, host);
}

/**
 * The DefaultIngressClass admission plugin: an Ingress created with neither `ingressClassName` nor the old class
 * annotation gets the default class; with more than one default, such a create is forbidden
 * (plugin/pkg/admission/network/defaultingressclass in kubernetes/kubernetes).
 */
function admitIngress(ingress: KubeObject, classes: readonly KubeObject[]): void {
  if (ingress.spec?.ingressClassName !== undefined && ingress.spec.ingressClassName !== null) return;
  if (ingress.metadata?.annotations?.[CLASS_ANNOTATION] !== undefined) return;
  const defaults = classes.filter((c) => c.metadata?.annotations?.[IS_DEFAULT_CLASS] === "true");
  if (defaults.length > 1)
    throw new ApiError(
      403,
      "Forbidden",
      `ingresses.networking.k8s.io "${ingress.metadata?.name}" is forbidden: Internal error occurred: ${defaults.length} default IngressClasses were found, only 1 allowed`,
    );
  if (defaults.length === 1) ingress.spec = { ...ingress.spec, ingressClassName: defaults[0]!.metadata.name };
}

/** What the Gateway API CRDs default a new object's status to: conditions waiting for a controller. */
function pendingConditions(types: readonly string[]): KubeObject[] {
  return types.map((type) => ({
    type,
    status: "Unknown",
    reason: "Pending",
    message: "Waiting for controller",
    lastTransitionTime: "1970-01-01T00:00:00Z",
  }));
}

/**
 * A create's registry strategy for the kinds other than Service: status is not taken from the request where the kind
 * has a status subresource (the pod starts Pending, an Ingress with an empty load balancer), Ingresses are validated
 * and admitted, and objects that track generations start at 1.
 */
export function applyCreateRules(
  plural: string,
  object: KubeObject,
  context: {
    readonly ingressClasses: () => readonly KubeObject[];
    readonly hasStatus: boolean;
    readonly grouped: boolean;
  },
): void {
  if (plural === "ingresses") {
    validateIngress(object);
    admitIngress(object, context.ingressClasses());
  }
  if (context.grouped) object.metadata.generation = 1;
  if (plural === "pods") object.status = { phase: "Pending" };
  else if (plural === "ingresses") object.status = { loadBalancer: {} };
  else if (plural === "gateways") object.status = { conditions: pendingConditions(["Accepted", "Programmed"]) };
  else if (plural === "gatewayclasses") object.status = { conditions: pendingConditions(["Accepted"]) };
  else if (context.hasStatus && context.grouped) delete object.status;
}

/** A main-resource update of a kind that tracks generations: a spec change counts one more. */
export function applyUpdateRules(plural: string, existing: KubeObject, next: KubeObject, grouped: boolean): void {
  if (plural === "ingresses") validateIngress(next);
  if (!grouped) return;
  const changed = JSON.stringify(existing.spec ?? null) !== JSON.stringify(next.spec ?? null);
  next.metadata = { ...(next.metadata ?? {}), generation: (existing.metadata.generation ?? 1) + (changed ? 1 : 0) };
}
