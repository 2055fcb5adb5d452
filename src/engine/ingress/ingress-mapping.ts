import { type AddressResult, controllerAddress } from "./controller-address.js";
import type { IngressControllerKind } from "./controller-catalog.js";
import { isWildcard, normaliseHost } from "./hostnames.js";
import type { HostEntry, UnmappedName } from "./name-types.js";
import type { IngressClassView, IngressView, PodView, ServiceView } from "./object-views.js";

export interface IngressInputs {
  readonly ingresses: readonly IngressView[];
  readonly classes: readonly IngressClassView[];
  /** Catalog-selected pods and Services (controller-catalog.ts). */
  readonly pods: readonly PodView[];
  readonly services: readonly ServiceView[];
  readonly catalog: readonly IngressControllerKind[];
}

/** A name and the creation time of the object that defines it, for "the oldest wins". */
export interface Sourced<T> {
  readonly value: T;
  readonly createdAt: string;
}

export type ClassResult = { readonly ingressClass: IngressClassView } | { readonly reason: string };

/**
 * An Ingress's class: `spec.ingressClassName`, else the old annotation naming an IngressClass, else the default
 * class. The apiserver fills in the default when an Ingress is created, so an Ingress without one was created before
 * any default existed; the controllers that serve such Ingresses (ingress-nginx's `--watch-ingress-without-class`)
 * take it as the default class's, and so do we. Two defaults: the API refuses to choose (its admission plugin forbids
 * the create), and so do we.
 */
export function ingressClassOf(ingress: IngressView, classes: readonly IngressClassView[]): ClassResult {
  const named = ingress.className ?? ingress.classAnnotation;
  if (named !== null) {
    const found = classes.find((c) => c.name === named);
    return found ? { ingressClass: found } : { reason: `IngressClass ${named} does not exist` };
  }
  const defaults = classes.filter((c) => c.isDefault);
  if (defaults.length === 1) return { ingressClass: defaults[0]! };
  if (defaults.length === 0) return { reason: "the Ingress names no class and no IngressClass is the default" };
  return {
    reason: `the Ingress names no class and ${defaults.length} IngressClasses are marked default (${defaults
      .map((c) => c.name)
      .sort()
      .join(", ")})`,
  };
}

/** Every Ingress host, mapped to where its class's controller answers, or unmapped with the reason. */
export function ingressNames(inputs: IngressInputs): {
  entries: Sourced<HostEntry>[];
  unmapped: Sourced<UnmappedName>[];
} {
  const entries: Sourced<HostEntry>[] = [];
  const unmapped: Sourced<UnmappedName>[] = [];
  const byController = new Map<string, AddressResult>();
  const addressOf = (controller: string) => {
    let result = byController.get(controller);
    if (!result) {
      result = controllerAddress(controller, inputs.pods, inputs.services, inputs.catalog);
      byController.set(controller, result);
    }
    return result;
  };
  for (const ingress of inputs.ingresses) {
    const createdAt = ingress.ref.createdAt;
    const base = { source: "ingress" as const, object: ingress.ref.key };
    const hosts: string[] = [];
    for (const raw of ingress.hosts) {
      const host = normaliseHost(raw);
      if (host === null)
        unmapped.push({ value: { ...base, host: raw, wildcard: false, reason: "not a host name" }, createdAt });
      else if (!hosts.includes(host)) hosts.push(host);
    }
    if (hosts.length === 0) continue;
    const cls = ingressClassOf(ingress, inputs.classes);
    const result = "reason" in cls ? cls : addressOf(cls.ingressClass.controller);
    for (const host of hosts) {
      const named = { ...base, host, wildcard: isWildcard(host) };
      if ("reason" in result) unmapped.push({ value: { ...named, reason: result.reason }, createdAt });
      else entries.push({ value: { ...named, address: result.address }, createdAt });
    }
  }
  return { entries, unmapped };
}
