import { z } from "zod";

/** What the main process shows: built from engine snapshots, sent to the tray menu and the windows. */
export const routeViewSchema = z.object({
  cidr: z.string(),
  gateway: z.string(),
  kind: z.enum(["service", "pod", "lb-pool"]),
  state: z.enum(["active", "conflict", "pending", "error"]),
  conflict: z
    .object({
      requested: z.string(),
      existing: z.object({ destination: z.string(), gateway: z.string().nullable(), interface: z.string().nullable() }),
      reason: z.string(),
      message: z.string(),
      /** What the user could run to remove the existing route themselves; the app never does. */
      removeCommand: z.string().optional(),
    })
    .optional(),
  error: z.string().optional(),
});

/** Forward mode: where a Service port listens on this machine, and whether it does. */
export const forwardViewSchema = z.object({
  address: z.string(),
  state: z.enum(["listening", "port-in-use", "udp-not-forwarded", "error"]),
  error: z.string().optional(),
});

/**
 * Forward mode: one node port on `127.0.0.1:<nodePort>` (a NodePort Service's, or a LoadBalancer's), as Docker Desktop
 * publishes them; `port` is the Service port it stands for.
 */
export const nodePortViewSchema = forwardViewSchema.extend({
  namespace: z.string(),
  name: z.string(),
  port: z.number(),
  nodePort: z.number(),
  protocol: z.string(),
});

export const serviceViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  ports: z.array(
    z.object({
      port: z.number(),
      protocol: z.string(),
      name: z.string().optional(),
      forward: forwardViewSchema.optional(),
    }),
  ),
  externalIps: z.array(
    z.object({ ip: z.string().optional(), hostname: z.string().optional(), ipMode: z.string().optional() }),
  ),
  owner: z.enum(["minikube-tunnel", "other", "none"]),
  pending: z.string().optional(),
});

/**
 * An Ingress host or a Gateway hostname as this machine reaches it (docs/architecture.md, "Ingress and Gateway
 * names"): at `address` when `mapped`, else `reason` says why not and `curl` reaches it all the same.
 */
export const ingressNameViewSchema = z.object({
  host: z.string(),
  /** `ns/name` of the Ingress or the Gateway. */
  object: z.string(),
  address: z.string().nullable(),
  ports: z.array(
    z.object({
      port: z.number(),
      protocol: z.enum(["http", "https", "tls"]),
      state: forwardViewSchema.shape.state.optional(),
      error: z.string().optional(),
    }),
  ),
  mapped: z.boolean(),
  reason: z.string().optional(),
  wildcard: z.literal(true).optional(),
  /** A Gateway name's routes (`HTTPRoute ns/name`). */
  via: z.array(z.string()).optional(),
  /** The `curl --resolve` line that reaches a name that is not mapped. */
  curl: z.string().optional(),
});

export const profileViewSchema = z.object({
  profile: z.string(),
  running: z.boolean(),
  phase: z.string(),
  nodeIp: z.string().nullable(),
  routes: z.array(routeViewSchema),
  services: z.array(serviceViewSchema),
  probe: z
    .object({ target: z.string(), ok: z.boolean(), latencyMs: z.number().optional(), error: z.string().optional() })
    .nullable(),
  message: z.string().optional(),
  /** How the LoadBalancer controller hands out IPs for this profile; "off" when it is not running. */
  lbMode: z.enum(["clusterip", "pool", "forward", "off"]).optional(),
  /** How the host reaches the cluster while the tunnel runs. */
  mode: z.enum(["route", "forward"]).optional(),
  /** What the user chose for this profile (Preferences); "auto" follows minikube's rule for the driver. */
  modeChoice: z.enum(["auto", "route", "forward"]).optional(),
  /** Forward mode's SSH link to the node. */
  link: z
    .object({
      state: z.enum(["connecting", "up", "reconnecting", "refused", "down"]),
      endpoint: z.string().nullable(),
      error: z.string().optional(),
    })
    .optional(),
  /**
   * Route mode with a docker or podman node that does not answer through its routes: forward mode would likely work.
   */
  suggestion: z.literal("forward-mode").optional(),
  /** Cluster names on this machine: on (with how, and a name that resolves), off, or why not. */
  names: z
    .object({
      state: z.enum(["on", "off", "pending", "error"]),
      domain: z.string(),
      how: z.string().optional(),
      example: z.string().optional(),
      error: z.string().optional(),
    })
    .optional(),
  /** The cluster's Ingress hosts and Gateway hostnames, while the tunnel follows them. */
  ingresses: z.array(ingressNameViewSchema).optional(),
  gateways: z.array(ingressNameViewSchema).optional(),
  /** Forward mode's node ports, while they are on (--no-node-ports turns them off). */
  nodePorts: z.array(nodePortViewSchema).optional(),
});

export const appStateSchema = z.object({
  profiles: z.array(profileViewSchema),
  error: z.string().nullable(),
  busy: z.boolean(),
});

export type RouteView = z.infer<typeof routeViewSchema>;
export type ForwardView = z.infer<typeof forwardViewSchema>;
export type ServiceView = z.infer<typeof serviceViewSchema>;
export type NodePortView = z.infer<typeof nodePortViewSchema>;
export type IngressNameView = z.infer<typeof ingressNameViewSchema>;
export type ProfileView = z.infer<typeof profileViewSchema>;
export type AppState = z.infer<typeof appStateSchema>;

export type TrayIconState = "idle" | "active" | "degraded" | "conflict" | "error";

/**
 * Routes are in, but the cluster does not answer through them (the probe of
 * the kubernetes Service fails): the tunnel is up on paper only.
 */
export function isDegraded(profile: ProfileView): boolean {
  const up =
    profile.mode === "forward" ? profile.link?.state === "up" : profile.routes.some((r) => r.state === "active");
  return profile.running && up && profile.probe !== null && !profile.probe.ok;
}

/** A node that presented a host key other than its own: nothing forwards, and the user must look. */
export function linkRefused(profile: ProfileView): boolean {
  return profile.running && profile.link?.state === "refused";
}

/** One icon per state: error beats conflict beats degraded beats active. */
export function trayIconState(state: AppState): TrayIconState {
  if (state.error !== null || state.profiles.some((p) => p.routes.some((r) => r.state === "error") || linkRefused(p)))
    return "error";
  if (state.profiles.some((p) => p.routes.some((r) => r.state === "conflict"))) return "conflict";
  if (state.profiles.some(isDegraded)) return "degraded";
  if (state.profiles.some((p) => p.running)) return "active";
  return "idle";
}

export function conflictsOf(state: AppState): RouteView[] {
  return state.profiles.flatMap((p) => p.routes.filter((r) => r.state === "conflict"));
}
