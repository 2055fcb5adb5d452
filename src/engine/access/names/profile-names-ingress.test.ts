import { describe, expect, it } from "vitest";
import type {
  ClusterDns,
  HostsEntry,
  HostsResult,
  ProfileDeclaration,
  RootNames,
  WildcardEntry,
  WildcardsResult,
} from "../../root/index.js";
import { eventually } from "../../../../test-support/eventually.js";
import { ProfileNames } from "./profile-names.js";

/** Root's names part as a recorder, refusing the names it is told to, as the policy would. */
class RecordingRoot implements RootNames {
  readonly calls: string[] = [];
  readonly hosts: (readonly HostsEntry[] | null)[] = [];
  refuse = new Map<string, string>();
  resolverMissing: string | null = null;
  async declare(d: ProfileDeclaration): Promise<void> {
    this.calls.push(`declare ${d.clusterDomain}`);
  }
  async setHosts(_profile: string, entries: readonly HostsEntry[] | null): Promise<HostsResult> {
    this.calls.push(
      `hosts ${entries === null ? "null" : entries.map((e) => `${e.ip}=${e.names.join(",")}`).join(" ")}`,
    );
    this.hosts.push(entries);
    const dropped = (entries ?? []).flatMap((e) =>
      e.names.filter((n) => this.refuse.has(n)).map((name) => ({ name, reason: this.refuse.get(name)! })),
    );
    return { written: entries?.length ?? 0, dropped };
  }
  async setDns(_profile: string, dns: ClusterDns | null): Promise<string | null> {
    this.calls.push(`dns ${dns ? dns.server : "null"}`);
    return dns ? `${dns.server} for ~${dns.domain}` : null;
  }
  async dnsUnavailable(): Promise<string | null> {
    return this.resolverMissing;
  }
}

class WildcardRoot extends RecordingRoot {
  async setWildcards(_profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    this.calls.push(`wildcards ${entries === null ? "null" : entries.map((e) => `${e.pattern}=${e.ip}`).join(" ")}`);
    return {
      dropped: (entries ?? []).filter((e) => e.pattern === "*.tv.test").map((e) => ({ name: e.pattern, reason: "no" })),
    };
  }
}

const shop = { ip: "192.168.49.2", names: ["shop.test", "github.com"], kind: "ingress" as const };

function names(root: RootNames | null) {
  let changes = 0;
  const profileNames = new ProfileNames(
    "minikube",
    "cluster.local",
    root,
    () => undefined,
    () => changes++,
  );
  return { profileNames, changes: () => changes };
}

describe("a profile's Ingress and Gateway names, beside its Services'", () => {
  it("route mode with a resolver: the cluster's DNS for the domain, and Ingress hosts in the hosts block all the same; an Ingress change rewrites the block only", async () => {
    const root = new RecordingRoot();
    root.refuse.set("github.com", "public name");
    const { profileNames } = names(root);
    // Before the mode's first write, the names wait for it.
    await profileNames.setIngress({ hosts: [shop], wildcards: [] });
    expect(root.calls).toEqual([]);
    await profileNames.routed(
      { server: "10.96.0.10", gateway: "192.168.49.2" },
      () => [],
      "kubernetes.default.svc.cluster.local",
    );
    expect(root.calls).toEqual(["dns 10.96.0.10", "hosts 192.168.49.2=shop.test,github.com"]);
    expect(profileNames.ingressOutcome("shop.test", false)).toEqual({ mapped: true });
    expect(profileNames.ingressOutcome("github.com", false)).toEqual({ mapped: false, reason: "public name" });
    // The Services' status knows nothing of refused Ingress hosts.
    expect(profileNames.status().unmapped).toBeUndefined();
    await profileNames.setIngress({ hosts: [], wildcards: [] });
    expect(root.calls.slice(2)).toEqual(["hosts null"]);
    expect(profileNames.ingressOutcome("shop.test", false)).toEqual({ mapped: false, reason: "not written yet" });
    // Nothing written, nothing to take back: no more hosts writes.
    await profileNames.setIngress({ hosts: [], wildcards: [] });
    expect(root.calls.slice(3)).toEqual([]);
  });

  it("forward mode and route mode without a resolver: Services and Ingress hosts share one block", async () => {
    const root = new RecordingRoot();
    const { profileNames } = names(root);
    await profileNames.setIngress({ hosts: [{ ...shop, ip: "127.70.255.9" }], wildcards: [] });
    await profileNames.forwarded([
      {
        namespace: "default",
        name: "web",
        address: "127.70.0.1",
        port: 80,
        protocol: "TCP",
        targetHost: "10.96.0.20",
        targetPort: 80,
      },
    ]);
    expect(root.calls).toEqual([
      "declare cluster.local",
      "hosts 127.70.0.1=web.default.svc.cluster.local,web.default 127.70.255.9=shop.test,github.com",
    ]);
    root.resolverMissing = "no systemd-resolved";
    await profileNames.routed(
      { server: "10.96.0.10", gateway: "192.168.49.2" },
      () => [{ namespace: "default", name: "web", clusterIPs: ["10.96.0.20"] }],
      "x",
    );
    expect(root.calls.at(-1)).toBe(
      "hosts 10.96.0.20=web.default.svc.cluster.local,web.default 127.70.255.9=shop.test,github.com",
    );
  });

  it("wildcards: not mapped without the DNS responder; with it, answered or refused one by one, and taken back on clear", async () => {
    const plain = names(new RecordingRoot()).profileNames;
    expect(plain.ingressOutcome("*.shop.test", true)).toEqual({
      mapped: false,
      reason: "wildcard (needs the DNS responder)",
    });
    const root = new WildcardRoot();
    const { profileNames } = names(root);
    await profileNames.routed({ server: "10.96.0.10", gateway: "192.168.49.2" }, () => [], "x");
    await profileNames.setIngress({
      hosts: [],
      wildcards: [
        { pattern: "*.shop.test", ip: "192.168.49.2", reach: "one-label" },
        { pattern: "*.tv.test", ip: "192.168.49.2", reach: "one-label" },
      ],
    });
    expect(root.calls).toEqual(["dns 10.96.0.10", "wildcards *.shop.test=192.168.49.2 *.tv.test=192.168.49.2"]);
    expect(profileNames.ingressOutcome("*.shop.test", true)).toEqual({ mapped: true });
    expect(profileNames.ingressOutcome("*.tv.test", true)).toEqual({ mapped: false, reason: "no" });
    await profileNames.clear();
    expect(root.calls.slice(-3)).toEqual(["hosts null", "dns null", "wildcards null"]);
  });

  it("names off: every Ingress host says so", () => {
    expect(names(null).profileNames.ingressOutcome("shop.test", false)).toEqual({
      mapped: false,
      reason: "cluster names are off (--no-dns, or the preference)",
    });
  });

  it("an Ingress change while the mode's write waits joins that write instead of replacing it", async () => {
    const root = new RecordingRoot();
    const { profileNames } = names(root);
    const first = profileNames.routed({ server: "10.96.0.10", gateway: "192.168.49.2" }, () => [], "x");
    // Before the first runs: the mode's second write (a new DNS server; it replaces the first), then an Ingress change,
    // which must not replace it.
    const second = profileNames.routed({ server: "10.96.0.99", gateway: "192.168.49.2" }, () => [], "x");
    const ingress = profileNames.setIngress({ hosts: [shop], wildcards: [] });
    await Promise.all([first, second, ingress]);
    expect(root.calls).toEqual(["dns 10.96.0.99", "hosts 192.168.49.2=shop.test,github.com"]);
  });

  it("an Ingress change that comes while a write is at root is not taken as written by that write (nothing claims a name root never saw)", async () => {
    const root = new RecordingRoot();
    root.refuse.set("github.com", "public name");
    // Each write stays at root until the test lets it go.
    const gates: (() => void)[] = [];
    const setHosts = root.setHosts.bind(root);
    root.setHosts = async (profile, entries) => {
      const result = await setHosts(profile, entries);
      await new Promise<void>((resolve) => gates.push(resolve));
      return result;
    };
    const { profileNames } = names(root);
    const web = { namespace: "default", name: "web", address: "127.70.0.1", port: 80, protocol: "TCP" as const };
    const mode = profileNames.forwarded([{ ...web, targetHost: "10.96.0.20", targetPort: 80 }]);
    await eventually(() => gates.length === 1, { what: "the Services' write at root" });
    const change = profileNames.setIngress({ hosts: [shop], wildcards: [] });
    gates.shift()!();
    // The first write (the Service's names only) is back, the second is at root: neither Ingress name is written yet.
    await eventually(() => gates.length === 1, { what: "the second write at root" });
    expect(root.hosts).toHaveLength(2);
    expect(root.hosts[0]).toEqual([{ ip: "127.70.0.1", names: ["web.default.svc.cluster.local", "web.default"] }]);
    expect(profileNames.ingressOutcome("shop.test", false)).toEqual({ mapped: false, reason: "not written yet" });
    expect(profileNames.ingressOutcome("github.com", false)).toEqual({ mapped: false, reason: "not written yet" });
    gates.shift()!();
    await Promise.all([mode, change]);
    expect(profileNames.ingressOutcome("shop.test", false)).toEqual({ mapped: true });
    expect(profileNames.ingressOutcome("github.com", false)).toEqual({ mapped: false, reason: "public name" });
  });

  it("route mode's hosts block: an Ingress change while a Services write waits for root never replays the write before it (the Services would go from the file)", async () => {
    let release: () => void = () => undefined;
    const root = new (class extends RecordingRoot {
      gate: Promise<void> | null = null;
      override async dnsUnavailable(): Promise<string | null> {
        await this.gate;
        return "no resolver here";
      }
    })();
    const { profileNames } = names(root);
    let services: { name: string; namespace: string; clusterIPs: string[] }[] = [];
    const dns = { server: "10.96.0.10", gateway: "192.168.49.2" };
    await profileNames.routed(dns, () => services, "kubernetes.default.svc.cluster.local");
    // The Services came: their write is under way, held at root's first answer…
    services = [{ name: "web", namespace: "default", clusterIPs: ["10.96.0.20"] }];
    root.gate = new Promise<void>((resolve) => (release = resolve));
    const write = profileNames.routed(dns, () => services, "kubernetes.default.svc.cluster.local");
    await Promise.resolve();
    // …when the Ingress follower says there are none.
    const ingress = profileNames.setIngress({ hosts: [], wildcards: [] });
    release();
    await Promise.all([write, ingress]);
    expect(root.hosts.at(-1)).toEqual([{ ip: "10.96.0.20", names: ["web.default.svc.cluster.local", "web.default"] }]);
  });
});
