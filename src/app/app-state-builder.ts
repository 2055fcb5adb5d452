import { parseCidr } from "../shared/cidr.js";
import type {
  AppState,
  IngressNameView,
  NodePortView,
  ProfileView,
  RouteView,
  ServiceView,
} from "../shared/app-state.js";
import type { RouteConflict } from "../shared/routes.js";
import type { ManagedService } from "../engine/lb/lb-service.js";
import { manualRemovalCommand } from "../engine/access/routes/manual-removal.js";
import type { AccessSnapshot, ForwardStatus, IngressNameStatus, RouteStatus } from "../engine/access/cluster-access.js";
import { curlResolveLine } from "../engine/access/names/ingress-names.js";

export interface AppStateInput {
  /** Profiles found in MINIPATH, shown even when no tunnel runs for them. */
  readonly knownProfiles: readonly string[];
  readonly snapshots: readonly AccessSnapshot[];
  readonly services: ReadonlyMap<string, readonly ManagedService[]>;
  readonly lbModes: ReadonlyMap<string, "clusterip" | "pool" | "forward" | "off">;
  /** A failure to show per profile (a Start that failed), cleared by the next Start. */
  readonly profileErrors: ReadonlyMap<string, string>;
  readonly error: string | null;
  readonly busy: boolean;
  readonly platform?: NodeJS.Platform;
  readonly modeChoices?: ReadonlyMap<string, "auto" | "route" | "forward">;
}

function conflictView(conflict: RouteConflict, platform: NodeJS.Platform): NonNullable<RouteView["conflict"]> {
  let removeCommand: string | undefined;
  try {
    removeCommand = manualRemovalCommand(
      {
        destination: parseCidr(conflict.existing.destination, { allowHostBits: true }),
        gateway: conflict.existing.gateway,
        interface: conflict.existing.interface,
      },
      platform,
    );
  } catch {
    removeCommand = undefined;
  }
  return {
    requested: conflict.requested,
    existing: conflict.existing,
    reason: conflict.reason,
    message: conflict.message,
    ...(removeCommand ? { removeCommand } : {}),
  };
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

type ForwardIndex = ReadonlyMap<string, ForwardStatus>;
const forwardKey = (namespace: string, name: string, port: number, protocol: string) =>
  `${namespace}/${name}:${port}/${protocol}`;

function forwardsOf(snapshot: AccessSnapshot | undefined): ForwardIndex {
  return new Map((snapshot?.forwards ?? []).map((f) => [forwardKey(f.namespace, f.name, f.port, f.protocol), f]));
}

function serviceView(s: ManagedService, forwards: ForwardIndex): ServiceView {
  return {
    namespace: s.namespace,
    name: s.name,
    ports: s.ports.map((p) => {
      const f = forwards.get(forwardKey(s.namespace, s.name, p.port, p.protocol));
      return {
        port: p.port,
        protocol: p.protocol,
        ...(p.name ? { name: p.name } : {}),
        ...(f ? { forward: { address: f.address, state: f.state, ...(f.error ? { error: f.error } : {}) } } : {}),
      };
    }),
    externalIps: s.externalIps.map((i) => ({ ...i })),
    owner: s.owner,
    ...(s.pending ? { pending: s.pending } : {}),
  };
}

/** A node port as the window shows it: the Service port it stands for, where it listens, and whether it does. */
function nodePortView(f: ForwardStatus): NodePortView {
  return {
    namespace: f.namespace,
    name: f.name,
    port: f.servicePort ?? f.port,
    nodePort: f.port,
    protocol: f.protocol,
    address: f.address,
    state: f.state,
    ...(f.error ? { error: f.error } : {}),
  };
}

/** A name for the window and the tray; one that is not mapped carries the `curl --resolve` line that reaches it. */
function nameView(name: IngressNameStatus): IngressNameView {
  const curl = name.mapped ? null : curlResolveLine(name);
  return {
    host: name.host,
    object: name.object,
    address: name.address,
    ports: name.ports.map((p) => ({ ...p })),
    mapped: name.mapped,
    ...(name.reason ? { reason: name.reason } : {}),
    ...(name.wildcard ? { wildcard: true as const } : {}),
    ...(name.via ? { via: [...name.via] } : {}),
    ...(curl ? { curl } : {}),
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
    const running = snapshot !== undefined && snapshot.phase !== "stopped";
    return {
      profile: name,
      running,
      phase: snapshot?.phase ?? "stopped",
      nodeIp: snapshot?.nodeIp ?? null,
      routes: (snapshot?.routes ?? []).map((r) => routeView(r, platform)),
      services: (input.services.get(name) ?? []).map((s) => serviceView(s, forwardsOf(snapshot))),
      probe: snapshot?.probe
        ? {
            target: snapshot.probe.target,
            ok: snapshot.probe.ok,
            ...(snapshot.probe.latencyMs !== undefined ? { latencyMs: snapshot.probe.latencyMs } : {}),
            ...(snapshot.probe.error ? { error: snapshot.probe.error } : {}),
          }
        : null,
      ...(message ? { message } : {}),
      ...(snapshot ? { lbMode: input.lbModes.get(name) ?? "off", mode: snapshot.mode } : {}),
      ...(snapshot?.link ? { link: { ...snapshot.link } } : {}),
      ...(input.modeChoices?.has(name) ? { modeChoice: input.modeChoices.get(name)! } : {}),
      ...(snapshot?.suggestion ? { suggestion: snapshot.suggestion } : {}),
      ...(snapshot?.names ? { names: { ...snapshot.names } } : {}),
      ...(snapshot?.nodePorts ? { nodePorts: snapshot.nodePorts.map(nodePortView) } : {}),
      ...(running && snapshot?.ingresses ? { ingresses: snapshot.ingresses.map(nameView) } : {}),
      ...(running && snapshot?.gateways ? { gateways: snapshot.gateways.map(nameView) } : {}),
    };
  });
  return { profiles, error: input.error, busy: input.busy };
}
