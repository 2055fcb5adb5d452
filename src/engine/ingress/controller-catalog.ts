import type { PodView } from "./object-views.js";

/**
 * How to recognise the pods of an ingress controller named by an IngressClass's `spec.controller`. Nothing in the
 * API links a controller name to its pods, so this is a catalog of the controllers people run on minikube, matched by
 * the labels their manifests and charts give their pods; a pod's own class flag, where the controller has one,
 * overrides the default name (two ingress-nginx installations with different `--controller-class`).
 */
export interface IngressControllerKind {
  /** The `spec.controller` of its IngressClass by default. */
  readonly controller: string;
  /** Labels its controller pods carry; must include `app.kubernetes.io/name` (the one key the watch selects on). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** A flag whose value names the controller a pod serves (`--controller-class=k8s.io/ingress-nginx`). */
  readonly classFlag?: string;
}

export const NAME_LABEL = "app.kubernetes.io/name";

export const INGRESS_CONTROLLERS: readonly IngressControllerKind[] = [
  {
    // minikube's ingress addon (deploy/addons/ingress/ingress-deploy.yaml.tmpl) and the ingress-nginx chart.
    controller: "k8s.io/ingress-nginx",
    podLabels: { [NAME_LABEL]: "ingress-nginx", "app.kubernetes.io/component": "controller" },
    classFlag: "--controller-class",
  },
  { controller: "traefik.io/ingress-controller", podLabels: { [NAME_LABEL]: "traefik" } },
];

/**
 * The label selector for every catalog controller's pods and Services: one watch each, of those pods and Services
 * only, never of every pod in the cluster.
 */
export function catalogSelector(catalog: readonly IngressControllerKind[]): string {
  const names = [...new Set(catalog.map((c) => c.podLabels[NAME_LABEL]))];
  if (names.some((n) => !n)) throw new Error(`every ingress controller kind needs the ${NAME_LABEL} label`);
  return `${NAME_LABEL} in (${names.sort().join(",")})`;
}

export function labelsMatch(wanted: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>) {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function flagValue(args: readonly string[], flag: string): string | null {
  for (const [i, arg] of args.entries()) {
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    if (arg === flag && i + 1 < args.length) return args[i + 1]!;
  }
  return null;
}

/** The controller name a pod serves, or null when it is no ingress controller of the catalog. */
export function podController(pod: PodView, catalog: readonly IngressControllerKind[]): string | null {
  const kind = catalog.find((c) => labelsMatch(c.podLabels, pod.labels));
  if (!kind) return null;
  return (kind.classFlag ? flagValue(pod.args, kind.classFlag) : null) ?? kind.controller;
}
