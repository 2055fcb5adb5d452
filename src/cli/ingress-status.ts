import { lookup } from "node:dns/promises";
import { containsCidr, isValidIp, parseCidr } from "../shared/cidr.js";
import type { AccessMode, ForwardState, IngressNameStatus } from "../engine/access/cluster-access.js";
import { FORWARD_RANGE } from "../engine/access/forwards/loopback-range.js";
import { type Placement, curlResolveLine, ingressStatuses } from "../engine/access/names/ingress-names.js";
import { probeTcp } from "../engine/access/reachability-probe.js";
import { firstPerHost } from "../engine/ingress/cluster-names.js";
import { IngressDiscovery } from "../engine/ingress/ingress-discovery.js";
import type { HostEntry, IngressNames } from "../engine/ingress/name-types.js";
import type { KubeApi } from "../engine/kube/kube-http.js";

/** One name as `status` shows it: the engine's status, and for a name that is not mapped the line that reaches it. */
export interface IngressNameReport extends IngressNameStatus {
  readonly curl?: string;
}

export interface IngressReport {
  readonly ingresses: IngressNameReport[];
  readonly gateways: IngressNameReport[];
}

/** What this machine's resolver answers for a name (hosts file, systemd-resolved…); empty when nothing. */
export type NameLookup = (host: string) => Promise<readonly string[]>;

/** The operating system's own resolver, as every program on the machine asks it; a hung resolver counts as nothing. */
export const systemLookup: NameLookup = async (host) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<readonly string[]>((resolve) => (timer = setTimeout(() => resolve([]), 2000)));
  try {
    return await Promise.race([
      lookup(host, { all: true }).then(
        (all) => all.map((a) => a.address),
        () => [],
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
};

/** The profile's names as the cluster defines them now: one list of each kind, then the watches stop. */
export async function readIngressNames(api: KubeApi, timeoutMs = 3000): Promise<IngressNames> {
  const discovery = new IngressDiscovery(api);
  try {
    await discovery.start(timeoutMs);
    return discovery.names();
  } finally {
    await discovery.stop();
  }
}

/** A wildcard is checked through one name it covers; no hosts file holds `*.` itself. */
const CHECK_LABEL = "mktunnel-status-check";
const lookedUp = (host: string) => (host.startsWith("*.") ? `${CHECK_LABEL}.${host.slice(2)}` : host);

const forwardRange = parseCidr(FORWARD_RANGE);
const inForwardRange = (ip: string) => isValidIp(ip) && containsCidr(forwardRange, parseCidr(ip));

/**
 * Status from another process (docs/architecture.md, "Ingress and Gateway names"): the running tunnel's snapshot
 * lives in its own process, so a name counts as mapped when this machine's resolver answers it with the address the
 * mode places it at: the controller's own address in route mode, a loopback address of ours in forward mode (whose
 * ports are then probed, as the Services' forwards are). What the user's programs see is what is reported.
 */
export async function ingressReport(
  names: IngressNames,
  mode: AccessMode,
  options: { tunnelRunning: boolean; lookup?: NameLookup; probe?: boolean },
): Promise<IngressReport> {
  const resolve = options.lookup ?? systemLookup;
  const hosts = [...new Set(names.entries.map((e) => e.host))];
  const answers = new Map(await Promise.all(hosts.map(async (h) => [h, await resolve(lookedUp(h))] as const)));
  const noTunnel = `no tunnel runs for this profile: \`mktunnel start${mode === "forward" ? " --mode forward" : ""}\``;
  const place = (entry: HostEntry): Placement => {
    if (mode === "route") return { ip: entry.address.ip };
    const ip = answers.get(entry.host)?.find(inForwardRange);
    if (ip) return { ip };
    return { ip: null, reason: options.tunnelRunning ? "no loopback address of the tunnel answers for it" : noTunnel };
  };
  const expected = new Map(firstPerHost(names.entries).map((e) => [e.host, place(e).ip]));
  const outcome = (host: string) => {
    const ip = expected.get(host);
    const got = answers.get(host) ?? [];
    if (ip && got.includes(ip)) return { mapped: true as const };
    if (got.length > 0) return { mapped: false as const, reason: `resolves to ${got.join(", ")} on this machine` };
    return {
      mapped: false as const,
      reason: options.tunnelRunning ? "does not resolve on this machine (see the tunnel's log)" : noTunnel,
    };
  };
  const probes = new Map<string, { state: ForwardState; error?: string }>();
  if (mode === "forward" && options.probe !== false) {
    const targets = new Set<string>();
    for (const entry of names.entries) {
      const ip = place(entry).ip;
      if (ip) for (const p of entry.address.ports) targets.add(`${ip} ${p.port}`);
    }
    await Promise.all(
      [...targets].map(async (key) => {
        const [ip, port] = key.split(" ") as [string, string];
        const ok = (await probeTcp(ip, Number(port), 500)).ok;
        probes.set(key, ok ? { state: "listening" } : { state: "error", error: "not listening" });
      }),
    );
  }
  const statuses = ingressStatuses(names, place, outcome, (ip, port) => probes.get(`${ip} ${port}`));
  const withCurl = (s: IngressNameStatus): IngressNameReport => {
    const curl = s.mapped ? null : curlResolveLine(s);
    return curl ? { ...s, curl } : s;
  };
  return { ingresses: statuses.ingresses.map(withCurl), gateways: statuses.gateways.map(withCurl) };
}
