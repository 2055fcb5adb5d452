import { addressKey } from "../../ingress/cluster-names.js";
import type { HostEntry, IngressNames, NameAddress } from "../../ingress/name-types.js";
import type { IpPool } from "../../lb/ip-pool.js";
import type { RootLoopback } from "../../root/index.js";
import type { AccessSnapshot, ForwardState } from "../cluster-access.js";
import { type NameOutcome, type Placement, ingressRequest, ingressStatuses } from "../names/ingress-names.js";
import type { ProfileNames } from "../names/profile-names.js";
import type { ForwardCarrier } from "./forward-carrier.js";
import { ForwardListeners, type ForwardSpec } from "./forward-listeners.js";

/**
 * Forward mode's split of a profile's /16 (loopback-range.ts): the LoadBalancer controller hands out addresses from
 * its start; the last /24 is kept for the ingress controllers and Gateways, so neither ever takes the other's.
 */
export function servicePoolFor(octet: number): string {
  return `127.${octet}.0.1-127.${octet}.254.255`;
}

export function ingressRangeFor(octet: number): string {
  return `127.${octet}.255.0/24`;
}

/** FNV-1a, as loopback-range.ts picks a profile's /16: a controller keeps its address across restarts. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of Buffer.from(text, "utf8")) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

/** The ingress address forward mode gives this place first, then the next offsets while one is taken. */
export function preferredIngressAddress(range: string, key: string, offset = 0): string {
  const base = range.replace(/\.0\/24$/, "");
  return `${base}.${1 + ((hash(key) + offset) % 254)}`;
}

export interface IngressForwardsDeps {
  readonly carrier: ForwardCarrier;
  readonly privileges: () => RootLoopback | null;
  readonly log: (line: string) => void;
  /** The LoadBalancer controller's addresses: a name at one of them is already forwarded as its Service. */
  readonly servicePool: IpPool;
  /** Where the ingress addresses come from (`ingressRangeFor`). */
  readonly range: string;
  /** The profile's names: each name goes to its place's address. */
  readonly names: ProfileNames;
  /** A listener's state changed, or the names did: the access shows it. */
  readonly changed: () => void;
  /** Whether this tunnel holds a listener on a LoadBalancer Service's address (a Gateway's names go there only then). */
  readonly serviceHeld?: (ip: string) => boolean;
}

/** The ingress range of a profile whose LoadBalancer pool is given (its /16's last /24). */
export function ingressRangeOf(pool: IpPool): string {
  const [a, b] = (pool.spec[0] ?? "").split(/[-/]/)[0]!.split(".");
  return `${a}.${b}.255.0/24`;
}

/** What the listeners call a place, in logs and states: its Service, or the node whose hostPorts answer. */
function placeName(address: NameAddress): { namespace: string; name: string } {
  const [namespace, name] = address.service?.split("/") ?? [];
  return namespace && name ? { namespace, name } : { namespace: "node", name: `hostports ${address.ip}` };
}

/**
 * Forward mode's Ingress and Gateway names (docs/architecture.md, "Ingress and Gateway names"): one loopback address per place
 * that answers (an ingress controller's hostPorts on the node, its Service, a Gateway's address: `addressKey`), from
 * the last /24 of the profile's /16, with each port its names use (80, 443) forwarded over the profile's link to that
 * place as the node reaches it: the node's own address for hostPorts (as minikube's tunnel does), the Service's IP
 * otherwise. Ports below 1024 go through the helper's relay, as Services' do. A Gateway whose Service our controller
 * gave a loopback address is forwarded as that Service already: its names point there.
 */
export class IngressForwards {
  private readonly listeners: ForwardListeners;
  /** addressKey → the loopback address it has while any name uses it. */
  private readonly assigned = new Map<string, string>();
  private names: IngressNames | null = null;
  private applying: Promise<void> = Promise.resolve();
  private queued = false;
  private closed = false;
  /** Addresses of the range another program was found listening on: no place of ours is given one again. */
  private readonly foreign = new Set<string>();
  /** The last Ingress request sent, so a pass that changes nothing asks root nothing. */
  private lastRequest = "";

  constructor(private readonly deps: IngressForwardsDeps) {
    this.listeners = new ForwardListeners(deps.carrier, deps.privileges, deps.log);
  }

  /**
   * Where a name answers on this machine; addresses are given out by `follow`. A name goes to an address only while this
   * tunnel holds a listener there: the addresses are predictable from the profile's name, and another local user who
   * listens on one first must never receive this user's browser traffic (docs/security.md, "The root policy", row Relays).
   */
  readonly place = (entry: HostEntry): Placement => {
    if (this.ownsService(entry.address)) {
      const ip = entry.address.ip;
      return (this.deps.serviceHeld ?? (() => true))(ip)
        ? { ip }
        : { ip: null, reason: `no listener of this tunnel on its Service's address ${ip} yet` };
    }
    const ip = this.assigned.get(addressKey(entry.address));
    if (!ip) return { ip: null, reason: `no loopback address left in ${this.deps.range}` };
    if (this.listeners.holding().held.has(ip)) return { ip };
    const failed = this.listeners.statuses().find((s) => s.address === ip && s.error);
    return {
      ip: null,
      reason: failed
        ? `not named: its listener on ${ip}:${failed.port} failed (${failed.error})`
        : `no listener of this tunnel on ${ip} yet`,
    };
  };

  /**
   * The names as they are now: addresses for new places, none for places no name uses, listeners to match (a burst
   * in one pass), and the names at their addresses.
   */
  follow(names: IngressNames): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.names = names;
    this.assign(names);
    this.sendNames();
    this.deps.changed();
    if (this.queued) return this.applying;
    this.queued = true;
    this.applying = this.applying.then(async () => {
      this.queued = false;
      if (this.closed) return;
      let changed = await this.listeners.apply(this.specs());
      // A place another program listens on moves to the next free address; each pass marks at least one more address
      // foreign, so this ends within the range.
      while (!this.closed && this.moveOffTaken()) changed = (await this.listeners.apply(this.specs())) || changed;
      this.sendNames();
      if (changed) this.deps.changed();
    });
    return this.applying;
  }

  /** The Services' listeners changed (a Gateway's names follow its Service's address): names as they are now. */
  servicesChanged(): void {
    if (this.names && !this.closed) this.sendNames();
  }

  /** The names with their forward-mode addresses and listeners, for the snapshot. */
  statuses(): Pick<AccessSnapshot, "ingresses" | "gateways"> {
    if (!this.names) return {};
    const outcome = (host: string, wildcard: boolean): NameOutcome => this.deps.names.ingressOutcome(host, wildcard);
    const byPort = new Map(this.listeners.statuses().map((s) => [`${s.address}:${s.port}`, s]));
    const fromServices = (ip: string) => this.deps.servicePool.contains(ip);
    return ingressStatuses(this.names, this.place, outcome, (ip, port) => {
      if (fromServices(ip)) return undefined;
      const listener = byPort.get(`${ip}:${port}`);
      return listener
        ? { state: listener.state as ForwardState, ...(listener.error ? { error: listener.error } : {}) }
        : undefined;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.names = null;
    await this.applying.catch(() => undefined);
    await this.listeners.closeAll();
    this.assigned.clear();
    this.foreign.clear();
  }

  /** The names at the addresses held now, to root when they differ from the last request. */
  private sendNames(): void {
    if (!this.names) return;
    const request = ingressRequest(this.names, this.place);
    const text = JSON.stringify(request);
    if (text === this.lastRequest) return;
    this.lastRequest = text;
    void this.deps.names.setIngress(request);
  }

  /** Frees each place whose address another program holds a port of, and gives it the next one. True if any moved. */
  private moveOffTaken(): boolean {
    const { taken } = this.listeners.holding();
    const moved: [string, string][] = [];
    for (const [key, ip] of this.assigned) {
      if (!taken.has(ip)) continue;
      this.foreign.add(ip);
      this.assigned.delete(key);
      moved.push([key, ip]);
    }
    if (moved.length === 0 || !this.names) return false;
    this.assign(this.names);
    for (const [key, ip] of moved) {
      const next = this.assigned.get(key);
      this.deps.log(
        `ingress ${key}: ${ip} is in use by another program; ${next ? `its names move to ${next}` : `no loopback address left in ${this.deps.range}`}`,
      );
    }
    return true;
  }

  private ownsService(address: NameAddress): boolean {
    return address.kind === "service-external" && this.deps.servicePool.contains(address.ip);
  }

  /** Keeps the addresses of places still in use, frees the rest, then gives each new place its own. */
  private assign(names: IngressNames): void {
    const wanted = new Set(names.entries.filter((e) => !this.ownsService(e.address)).map((e) => addressKey(e.address)));
    for (const key of [...this.assigned.keys()]) if (!wanted.has(key)) this.assigned.delete(key);
    const taken = new Set(this.assigned.values());
    for (const key of [...wanted].sort()) {
      if (this.assigned.has(key)) continue;
      for (let offset = 0; offset < 254; offset++) {
        const ip = preferredIngressAddress(this.deps.range, key, offset);
        if (taken.has(ip) || this.foreign.has(ip)) continue;
        this.assigned.set(key, ip);
        taken.add(ip);
        break;
      }
    }
  }

  /** Each place's ports (those of every name it serves), to the place as the node reaches it. */
  private specs(): ForwardSpec[] {
    const byKey = new Map<string, { address: NameAddress; ports: Set<number> }>();
    for (const entry of this.names?.entries ?? []) {
      if (this.ownsService(entry.address)) continue;
      const key = addressKey(entry.address);
      const place = byKey.get(key) ?? { address: entry.address, ports: new Set<number>() };
      for (const p of entry.address.ports) place.ports.add(p.port);
      byKey.set(key, place);
    }
    const specs: ForwardSpec[] = [];
    for (const [key, { address, ports }] of byKey) {
      const ip = this.assigned.get(key);
      if (!ip) continue;
      for (const port of [...ports].sort((a, b) => a - b))
        specs.push({
          ...placeName(address),
          address: ip,
          port,
          protocol: "TCP",
          targetHost: address.ip,
          targetPort: port,
        });
    }
    return specs;
  }
}
