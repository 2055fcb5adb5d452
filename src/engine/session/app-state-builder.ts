import { parseCidr } from "../../shared/cidr.js";
import type { AppState, ProfileView, RouteView } from "../../shared/app-state.js";
import type { RouteConflict } from "../../shared/routes.js";
import type { ManagedService } from "../lb/lb-service.js";
import { manualRemovalCommand } from "../access/routes/manual-removal.js";
import type { AccessSnapshot, RouteStatus } from "../access/cluster-access.js";

export interface AppStateInput {
  /** Profiles found in MINIPATH, shown even when no tunnel runs for them. */
  readonly knownProfiles: readonly string[];
  readonly snapshots: readonly AccessSnapshot[];
  readonly services: ReadonlyMap<string, readonly ManagedService[]>;
  readonly lbModes: ReadonlyMap<string, "clusterip" | "pool" | "off">;
  /** A failure to show per profile (a Start that failed), cleared by the next Start. */
  readonly profileErrors: ReadonlyMap<string, string>;
  readonly error: string | null;
  readonly busy: boolean;
  readonly platform?: NodeJS.Platform;
}

function conflictView(conflict: RouteConflict, platform: NodeJS.Platform): NonNullable<RouteView["conflict"]> {
  let removeCommand: string | undefined;
  try {
    removeCommand = manualRemovalCommand({ destination: parseCidr(conflict.existing.destination, { allowHostBits: true }), gateway: conflict.existing.gateway, interface: conflict.existing.interface }, platform);
  } catch {
    removeCommand = undefined;
  }
  return { requested: conflict.requested, existing: conflict.existing, reason: conflict.reason, message: conflict.message, ...(removeCommand ? { removeCommand } : {}) };
}

function routeView(route: RouteStatus, platform: NodeJS.Platform): RouteView {
  return {
    cidr: route.cidr,
    gateway: route.gateway,
    kind: route.kind,
    state: route.state,
    ...(route.conflict ? { conflict: conflictView(route.conflict, platform) } : {}),
    ...(route.error ? { error: route.error } : {}),
  };
}

/** The one mapping from engine snapshots to what the tray and the windows show. */
export function buildAppState(input: AppStateInput): AppState {
  const platform = input.platform ?? process.platform;
  const byProfile = new Map(input.snapshots.map((s) => [s.profile, s]));
  const names = [...new Set([...input.knownProfiles, ...byProfile.keys()])].sort();
  const profiles = names.map((name): ProfileView => {
    const snapshot = byProfile.get(name);
    const failure = input.profileErrors.get(name);
    const message = failure ?? snapshot?.message;
    return {
      profile: name,
      running: snapshot !== undefined && snapshot.phase !== "stopped",
      phase: snapshot?.phase ?? "stopped",
      nodeIp: snapshot?.nodeIp ?? null,
      routes: (snapshot?.routes ?? []).map((r) => routeView(r, platform)),
      services: (input.services.get(name) ?? []).map((s) => ({ namespace: s.namespace, name: s.name, ports: s.ports.map((p) => ({ port: p.port, protocol: p.protocol, ...(p.name ? { name: p.name } : {}) })), ingress: s.ingress.map((i) => ({ ...i })), owner: s.owner, ...(s.pending ? { pending: s.pending } : {}) })),
      probe: snapshot?.probe ? { target: snapshot.probe.target, ok: snapshot.probe.ok, ...(snapshot.probe.latencyMs !== undefined ? { latencyMs: snapshot.probe.latencyMs } : {}), ...(snapshot.probe.error ? { error: snapshot.probe.error } : {}) } : null,
      ...(message ? { message } : {}),
      ...(snapshot ? { lbMode: input.lbModes.get(name) ?? "off" } : {}),
    };
  });
  return { profiles, error: input.error, busy: input.busy };
}
