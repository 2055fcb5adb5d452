import { describe, expect, it } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import { FakeCarrier, FakeLoopback } from "../../../../test-support/fake-forward-carrier.js";
import type { HostEntry, IngressNames, NameAddress } from "../../ingress/name-types.js";
import { IpPool } from "../../lb/ip-pool.js";
import type { HostsEntry, HostsResult, RootLoopback, RootNames } from "../../root/index.js";
import { ProfileNames } from "../names/profile-names.js";
import {
  IngressForwards,
  ingressRangeFor,
  ingressRangeOf,
  preferredIngressAddress,
  servicePoolFor,
} from "./ingress-forwards.js";

const http = { port: 80, protocol: "http" as const };
const https = { port: 443, protocol: "https" as const };
const addon: NameAddress = { kind: "node-hostport", ip: "192.168.49.2", ports: [http, https] };
const traefik: NameAddress = {
  kind: "service-clusterip",
  ip: "10.96.7.7",
  ports: [http],
  service: "traefik/traefik",
};
const entry = (host: string, address: NameAddress, object = `default/${host.split(".")[0]}`): HostEntry => ({
  host,
  address,
  source: "ingress",
  object,
  wildcard: false,
});

class HostsRecorder implements RootNames {
  readonly hosts: (readonly HostsEntry[] | null)[] = [];
  async declare(): Promise<void> {}
  async setHosts(_p: string, entries: readonly HostsEntry[] | null): Promise<HostsResult> {
    this.hosts.push(entries);
    return { written: entries?.length ?? 0, dropped: [] };
  }
  async setDns(): Promise<string | null> {
    return null;
  }
  async dnsUnavailable(): Promise<string | null> {
    return null;
  }
}

function setup(options: { privileges?: RootLoopback; serviceHeld?: (ip: string) => boolean } = {}) {
  const carrier = new FakeCarrier(false);
  const logs: string[] = [];
  const root = new HostsRecorder();
  const names = new ProfileNames(
    "p",
    "cluster.local",
    root,
    () => undefined,
    () => undefined,
  );
  let changes = 0;
  const pool = new IpPool([servicePoolFor(70)]);
  const forwards = new IngressForwards({
    carrier,
    privileges: () => options.privileges ?? null,
    log: (line) => logs.push(line),
    servicePool: pool,
    range: ingressRangeFor(70),
    names,
    changed: () => changes++,
    ...(options.serviceHeld ? { serviceHeld: options.serviceHeld } : {}),
  });
  return { carrier, root, names, forwards, pool, logs, changes: () => changes };
}

describe("forward mode's Ingress and Gateway names", () => {
  it("the /16 splits: the LoadBalancer pool never reaches the last /24, which the ingress addresses take", () => {
    const pool = new IpPool([servicePoolFor(70)]);
    expect(pool.contains("127.70.254.255")).toBe(true);
    expect(pool.contains("127.70.255.1")).toBe(false);
    expect(ingressRangeOf(pool)).toBe("127.70.255.0/24");
    expect(ingressRangeOf(new IpPool(["127.70.0.1-127.70.255.254"]))).toBe("127.70.255.0/24");
    expect(preferredIngressAddress("127.70.255.0/24", "node-hostport|192.168.49.2")).toMatch(
      /^127\.70\.255\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/,
    );
  });

  it("one loopback address per controller, each port its names use forwarded to where it answers on the node's side", async () => {
    const { carrier, forwards } = setup();
    const names: IngressNames = {
      entries: [entry("shop.test", addon), entry("blog.test", addon), entry("api.test", traefik)],
      unmapped: [],
    };
    await forwards.follow(names);
    const at = (e: HostEntry) => forwards.place(e).ip;
    const addonIp = at(names.entries[0]!);
    const traefikIp = at(names.entries[2]!);
    expect(addonIp).toBe(preferredIngressAddress("127.70.255.0/24", "node-hostport|192.168.49.2"));
    expect(traefikIp).not.toBe(addonIp);
    expect(at(names.entries[1]!)).toBe(addonIp);
    expect(
      carrier.listens.map((l) => `${l.address}:${l.port} -> ${l.target().host}:${l.target().port}`).sort(),
    ).toEqual(
      [
        `${addonIp}:80 -> 192.168.49.2:80`,
        `${addonIp}:443 -> 192.168.49.2:443`,
        `${traefikIp}:80 -> 10.96.7.7:80`,
      ].sort(),
    );
    const { ingresses } = forwards.statuses();
    expect(ingresses!.find((s) => s.host === "api.test")).toMatchObject({
      address: traefikIp,
      ports: [{ port: 80, protocol: "http", state: "listening" }],
    });
  });

  it("a Gateway whose Service our controller gave a loopback address is reached there: no listener of its own", async () => {
    const { carrier, forwards, pool } = setup();
    const ip = pool.allocate("envoy/eg")!;
    const gw: NameAddress = { kind: "service-external", ip, ports: [http], service: "envoy/eg" };
    await forwards.follow({ entries: [{ ...entry("gw.test", gw), source: "gateway" }], unmapped: [] });
    expect(carrier.listens).toEqual([]);
    expect(forwards.statuses().gateways).toEqual([
      { host: "gw.test", object: "default/gw", address: ip, ports: [http], mapped: false, reason: "not written yet" },
    ]);
  });

  it("a controller no name uses any more loses its address and listeners; names follow in the hosts block", async () => {
    const { carrier, forwards, root } = setup();
    await forwards.follow({ entries: [entry("shop.test", addon), entry("api.test", traefik)], unmapped: [] });
    const traefikIp = forwards.place(entry("api.test", traefik)).ip!;
    await forwards.follow({ entries: [entry("shop.test", addon)], unmapped: [] });
    expect(carrier.closed).toEqual([`${traefikIp}:80`]);
    expect(forwards.place(entry("api.test", traefik))).toEqual({
      ip: null,
      reason: "no loopback address left in 127.70.255.0/24",
    });
    // No mode write yet (the Services' names come first): nothing was asked of root.
    expect(root.hosts).toEqual([]);
    await forwards.close();
    expect(carrier.closed).toHaveLength(3);
  });
});

/** Root's relay as another local user leaves it: that user's helper already relays one address's ports. */
class TakenRelays extends FakeLoopback {
  constructor(private readonly takenAddress: string) {
    super();
  }
  override async relay(address: string, port: number, targetPort: number): Promise<void> {
    await super.relay(address, port, targetPort);
    if (address === this.takenAddress) throw new Error(`${address}:${port} is in use by another program`);
  }
}

/** Every address root was asked to write a name at, over every write. */
const namedAddresses = (root: HostsRecorder) =>
  new Set(root.hosts.flatMap((entries) => (entries ?? []).map((e) => e.ip)));

describe("forward mode's Ingress addresses, attacked by another local user who listens first", () => {
  const key = "node-hostport|192.168.49.2";
  const predicted = preferredIngressAddress(ingressRangeFor(70), key);
  const next = preferredIngressAddress(ingressRangeFor(70), key, 1);

  it("a foreign listener on the predicted address:80 before start: the names never point there, the place moves to the next free address, and the log says so", async () => {
    const { carrier, forwards, names, root, logs } = setup();
    carrier.failures.set(`${predicted}:80`, "EADDRINUSE");
    await names.forwarded([]);
    await forwards.follow({ entries: [entry("shop.test", addon)], unmapped: [] });
    await eventually(() => root.hosts.at(-1)?.some((e) => e.names.includes("shop.test")), {
      what: "shop.test written",
    });
    expect(namedAddresses(root).has(predicted)).toBe(false);
    expect(forwards.place(entry("shop.test", addon))).toEqual({ ip: next });
    expect(root.hosts.at(-1)).toContainEqual({ ip: next, names: ["shop.test"], kind: "ingress" });
    expect(carrier.asked()).toEqual([`${predicted}:80`, `${predicted}:443`, `${next}:80`, `${next}:443`]);
    // Our own listener on the taken address's other port goes with the place.
    expect(carrier.closed).toEqual([`${predicted}:443`]);
    expect(logs).toContain(`ingress ${key}: ${predicted} is in use by another program; its names move to ${next}`);
  });

  it("the same through root's relay (ports below 1024 as a user): a relay refused as in use moves the place too", async () => {
    const relays = new TakenRelays(predicted);
    const { carrier, forwards, names, root } = setup({ privileges: relays });
    for (const ip of [predicted, next]) for (const port of [80, 443]) carrier.failures.set(`${ip}:${port}`, "EACCES");
    await names.forwarded([]);
    await forwards.follow({ entries: [entry("shop.test", addon)], unmapped: [] });
    await eventually(() => root.hosts.at(-1)?.some((e) => e.ip === next), { what: "shop.test written at the next" });
    expect(namedAddresses(root).has(predicted)).toBe(false);
    expect(relays.calls.filter((c) => c.startsWith(`relay ${next}`))).toHaveLength(2);
  });

  it("a listener that only failed (no helper for port 80) names nothing: the name waits, with why", async () => {
    const { carrier, forwards, names, root } = setup();
    carrier.failures.set(`${predicted}:80`, "EACCES");
    carrier.failures.set(`${predicted}:443`, "EACCES");
    await names.forwarded([]);
    await forwards.follow({ entries: [entry("shop.test", addon)], unmapped: [] });
    expect(namedAddresses(root).size).toBe(0);
    expect(forwards.place(entry("shop.test", addon))).toEqual({
      ip: null,
      reason: `not named: its listener on ${predicted}:80 failed (port 80 needs root, and no privileged helper is available)`,
    });
  });

  it("a Gateway at a Service address this tunnel holds no listener on gets no name there", async () => {
    const held = new Set<string>();
    const { forwards, names, root, pool } = setup({ serviceHeld: (ip) => held.has(ip) });
    const ip = pool.allocate("envoy/eg")!;
    const gw: NameAddress = { kind: "service-external", ip, ports: [http], service: "envoy/eg" };
    await names.forwarded([]);
    await forwards.follow({ entries: [{ ...entry("gw.test", gw), source: "gateway" }], unmapped: [] });
    expect(namedAddresses(root).has(ip)).toBe(false);
    held.add(ip);
    forwards.servicesChanged();
    await eventually(() => namedAddresses(root).has(ip), { what: "gw.test named once held" });
  });
});
