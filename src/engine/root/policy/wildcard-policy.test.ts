import { describe, expect, it } from "vitest";
import { declaredRootSession } from "../../../../test-support/root-session-setup.js";
import { helperRequestSchema } from "../../../shared/helper-protocol.js";
import type { WildcardEntry } from "../root.js";
import { NO_ALLOWANCES } from "./allowances.js";
import { NO_MACHINE_NAMES, wildcardRefusal } from "./name-policy.js";

describe('wildcard Ingress and Gateway names root answers (docs/security.md, "The root policy")', () => {
  it.each(["*.shop.test", "*.api.shop.test", "*.web.example"])("%s is answered", (pattern) => {
    expect(wildcardRefusal(pattern, "cluster.local", NO_ALLOWANCES)).toBeNull();
  });

  it.each([
    ["*.com", "*.com would take the whole top-level domain .com"],
    ["*.test", "*.test would take the whole top-level domain .test"],
    ["*.example", "*.example would take the whole top-level domain .example"],
    ["*.github.com", "public name"],
    ["*.co.uk", "public name"],
    ["*.printer.local", "a name under .local, which this machine's own network uses"],
    ["*.svc.cluster.local", "under the cluster domain cluster.local, which the cluster's DNS answers"],
    ["*.acme.internal", "not under .test or .example"],
    ["*.google.internal", "a name under google.internal, a domain this machine's own software looks up"],
    ["*.wpad.test", "wpad is looked up by clients to configure themselves"],
    ["shop.test", "not a wildcard (*.<domain>)"],
    ["*.*.shop.test", "not a DNS name"],
    ["*.bad_name.test", "not a DNS name"],
  ])("%s is refused: %s", (pattern, reason) => {
    expect(wildcardRefusal(pattern, "cluster.local", NO_ALLOWANCES)).toContain(reason);
  });

  it("a search domain of this machine is never a wildcard's domain", () => {
    expect(wildcardRefusal("*.corp.test", "cluster.local", NO_ALLOWANCES, { search: ["corp.test"] })).toBe(
      "would answer for a name under this machine's search domain corp.test",
    );
  });

  it("an administrator's allowed domain lifts the rule below itself only, and never for a whole top-level domain", () => {
    const allowed = { ...NO_ALLOWANCES, domains: ["apps.acme.dev"] };
    expect(wildcardRefusal("*.shop.apps.acme.dev", "cluster.local", allowed)).toBeNull();
    // The wildcard would take all of the allowed domain, every name the administrator meant for exact hosts.
    expect(wildcardRefusal("*.apps.acme.dev", "cluster.local", allowed)).toContain("would take all of apps.acme.dev");
    expect(wildcardRefusal("*.other.acme.dev", "cluster.local", allowed)).toBe("public name");
    expect(wildcardRefusal("*.dev", "cluster.local", { ...NO_ALLOWANCES, domains: ["dev"] })).toContain(
      "whole top-level domain",
    );
  });

  it("an allowed company domain keeps its search domain and autoconfiguration names (the reviewer's policy.mts)", () => {
    const allow = { ...NO_ALLOWANCES, domains: ["acme.corp"] };
    const machine = { search: ["acme.corp", "dev.corp.example"] };
    expect(wildcardRefusal("*.acme.corp", "cluster.local", allow, machine)).not.toBeNull();
    expect(wildcardRefusal("*.apps.acme.corp", "cluster.local", allow, machine)).toBe(
      "would answer for a name under this machine's search domain acme.corp",
    );
    expect(wildcardRefusal("*.wpad.acme.corp", "cluster.local", allow)).toContain("configure themselves");
    expect(wildcardRefusal("*.x.svc.acme.corp", "acme.corp", allow)).toContain("cluster domain");
  });

  it("a wildcard's domain is never above a search domain: macOS and Windows route all of it to the responder", () => {
    const machine = { search: ["dev.corp.example"] };
    expect(wildcardRefusal("*.corp.example", "cluster.local", NO_ALLOWANCES, machine)).toBe(
      "would answer for a name under this machine's search domain dev.corp.example",
    );
    expect(wildcardRefusal("*.shop.example", "cluster.local", NO_ALLOWANCES, machine)).toBeNull();
  });

  it("a wildcard's domain is never under or above a cluster domain declared to root, by any profile", () => {
    const others = ["a.test", "cluster.b.example"];
    expect(wildcardRefusal("*.svc.a.test", "cluster.local", NO_ALLOWANCES, NO_MACHINE_NAMES, others)).toContain(
      "a.test, a cluster domain declared to root",
    );
    expect(wildcardRefusal("*.b.example", "cluster.local", NO_ALLOWANCES, NO_MACHINE_NAMES, others)).toBe(
      "would take the names of cluster.b.example, a cluster domain declared to root",
    );
    expect(wildcardRefusal("*.own.test", "x.own.test", NO_ALLOWANCES)).toContain("x.own.test");
    expect(wildcardRefusal("*.shop.test", "cluster.local", NO_ALLOWANCES, NO_MACHINE_NAMES, others)).toBeNull();
  });

  it("the helper protocol refuses what is not a wildcard pattern before the policy sees it", () => {
    const request = (pattern: string, extra: object = {}) =>
      helperRequestSchema.safeParse({
        id: 1,
        secret: "0".repeat(64),
        op: "names-wildcards",
        profile: "minikube",
        entries: [{ pattern, ip: "127.70.255.9", reach: "one-label", ...extra }],
      }).success;
    expect(request("*.shop.test")).toBe(true);
    for (const bad of ["shop.test", "*", "*.", "*.Shop.test", "a.*.shop.test", "*.shop.test."])
      expect(request(bad), bad).toBe(false);
    expect(request("*.shop.test", { extra: 1 })).toBe(false);
    expect(request("*.shop.test", { reach: "any" })).toBe(false);
  });
});

describe("root's wildcard request", () => {
  async function session() {
    const set: (readonly WildcardEntry[] | null)[] = [];
    // The names writer stands in for the responder (its own tests run it): this test is about what reaches it.
    const names = {
      setWildcards: async (_p: string, e: readonly WildcardEntry[] | null) => (set.push(e), { dropped: [] }),
      clearAll: async () => [],
    };
    return { root: await declaredRootSession(names), set };
  }
  const w = (pattern: string, ip: string): WildcardEntry => ({ pattern, ip, reach: "one-label" });

  it("an attacker's patterns and addresses are dropped with why; the rest reach the responder", async () => {
    const { root, set } = await session();
    const result = await root.setWildcards("minikube", [
      w("*.shop.test", "10.96.5.5"),
      w("*.gw.test", "127.70.255.9"),
      w("*.com", "10.96.5.5"),
      w("*.test", "10.96.5.5"),
      w("*.bank.com", "10.96.5.5"),
      // An address outside what the profile declared: the machine's gateway, a public server.
      w("*.evil.test", "192.168.1.1"),
      w("*.evil2.test", "8.8.8.8"),
    ]);
    expect(result.dropped.map((d) => d.name)).toEqual(["*.com", "*.test", "*.bank.com", "*.evil.test", "*.evil2.test"]);
    expect(result.dropped.find((d) => d.name === "*.evil2.test")?.reason).toBe(
      "8.8.8.8 is neither a forward-mode loopback address nor in a network declared for this profile",
    );
    expect(set).toEqual([[w("*.shop.test", "10.96.5.5"), w("*.gw.test", "127.70.255.9")]]);
  });

  it("an undeclared profile gets nothing; taking back needs no declaration", async () => {
    const { root, set } = await session();
    await expect(root.setWildcards("other", [w("*.shop.test", "10.96.5.5")])).rejects.toThrow(/not declared/);
    expect(await root.setWildcards("other", null)).toEqual({ dropped: [] });
    expect(set).toEqual([null]);
  });

  it("another session's declared cluster domain closes its names to this one's wildcards", async () => {
    const { root, set } = await session();
    const { root: other } = await session();
    await other.declare({ profile: "b", nodeIp: null, cidrs: [], clusterDomain: "b.test", clusterDnsIp: "" });
    // A domain root would never route (a whole top-level one) closes nothing to anyone.
    await other.declare({ profile: "c", nodeIp: null, cidrs: [], clusterDomain: "example", clusterDnsIp: "" });
    const result = await root.setWildcards("minikube", [w("*.svc.b.test", "10.96.5.5"), w("*.x.example", "10.96.5.5")]);
    expect(result.dropped).toEqual([
      {
        name: "*.svc.b.test",
        reason: "under b.test, a cluster domain declared to root, which that cluster's DNS answers",
      },
    ]);
    await other.close();
    await root.setWildcards("minikube", [w("*.svc.b.test", "10.96.5.5")]);
    expect(set.at(-1)).toEqual([w("*.svc.b.test", "10.96.5.5")]);
    await root.close();
  });

  it("when every pattern is refused, the profile's earlier ones are taken back", async () => {
    const { root, set } = await session();
    await root.setWildcards("minikube", [w("*.shop.test", "10.96.5.5")]);
    await root.setWildcards("minikube", [w("*.com", "10.96.5.5")]);
    expect(set.at(-1)).toBeNull();
  });
});
