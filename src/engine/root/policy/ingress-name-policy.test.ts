import { describe, expect, it } from "vitest";
import { NODE, declaredRootSession } from "../../../../test-support/root-session-setup.js";
import type { HostsEntry } from "../root.js";
import { NO_ALLOWANCES } from "./allowances.js";
import { hostNameRefusal, ingressHostRefusal } from "./name-policy.js";

describe('Ingress and Gateway hosts root writes (docs/security.md, "The root policy")', () => {
  it.each(["shop.test", "api.shop.test", "web.example", "a.b.c.example"])(
    "%s, a name under a top-level name kept out of the DNS for local use, is written",
    (name) => {
      expect(ingressHostRefusal(name, "cluster.local", NO_ALLOWANCES)).toBeNull();
      // The Service-name rule was not loosened for it.
      if (name.split(".").length !== 2) expect(hostNameRefusal(name, "cluster.local", NO_ALLOWANCES)).not.toBeNull();
    },
  );

  it.each([
    ["github.com", "public name"],
    ["shop.co.uk", "public name"],
    ["api.dev", "public name"],
    ["printer.local", "a name under .local, which this machine's own network uses"],
    ["router.lan", "a name under .lan, which this machine's own network uses"],
    ["nas.home", "a name under .home, which this machine's own network uses"],
    ["mail.corp", "a name under .corp, which this machine's own network uses"],
    ["app.localhost", "a name under .localhost, which this machine's own network uses"],
    ["x.in-addr.arpa", "public name"],
    ["router.home.arpa", "a name under .arpa, which this machine's own network uses"],
    ["hidden.onion", "public name"],
    ["metadata.google.internal", "a name under google.internal, a domain this machine's own software looks up"],
    ["ip-10-0-0-1.ec2.internal", "a name under ec2.internal, a domain this machine's own software looks up"],
    ["wpad.test", "wpad is looked up by clients to configure themselves (proxy, tunnel)"],
    ["isatap.shop.test", "isatap is looked up by clients to configure themselves (proxy, tunnel)"],
    ["web.default.svc.cluster.local", "under the cluster domain cluster.local, which the cluster's DNS answers"],
    ["intranet", "a single label; root writes only names of at least two labels"],
    ["bad_name.test", "not a DNS name"],
    // Private, but maybe a VPN's split-DNS domain or a company's, which root cannot see on every OS.
    ...[
      "sso.acme.internal",
      "vault.corp.internal",
      "host.docker.internal",
      "gitlab.intra",
      "svc.k8s",
      "x.home.lab",
    ].map((name) => [name, expect.stringMatching(/^not under \.test or \.example, the names kept for local use/)]),
  ])("%s is refused: %s", (name, why) => {
    expect(ingressHostRefusal(name, "cluster.local", NO_ALLOWANCES)).toEqual(why);
  });

  it("an administrator's allowed domain replaces only the .test/.example rule (the reviewer's policy.mts)", () => {
    const allow = { cidrs: [], domains: ["acme.corp"] };
    const machine = { search: ["acme.corp"] };
    expect(ingressHostRefusal("wpad.acme.corp", "cluster.local", allow)).toBe(
      "wpad is looked up by clients to configure themselves (proxy, tunnel)",
    );
    expect(ingressHostRefusal("isatap.acme.corp", "cluster.local", allow)).toContain("configure themselves");
    expect(ingressHostRefusal("app.acme.corp", "cluster.local", allow, machine)).toBe(
      "would answer for a name under this machine's search domain acme.corp",
    );
    expect(ingressHostRefusal("x.ns.svc.acme.corp", "acme.corp", allow)).toBe(
      "under the cluster domain acme.corp, which the cluster's DNS answers",
    );
    expect(
      ingressHostRefusal("meta.google.internal", "cluster.local", { cidrs: [], domains: ["google.internal"] }),
    ).toBe("a name under google.internal, a domain this machine's own software looks up");
    expect(ingressHostRefusal("app.acme.corp", "cluster.local", allow)).toBeNull();
  });

  it("a host under a cluster domain another profile declared to root is refused", () => {
    expect(ingressHostRefusal("web.svc.other.test", "cluster.local", NO_ALLOWANCES, undefined, ["other.test"])).toBe(
      "under other.test, a cluster domain declared to root, which that cluster's DNS answers",
    );
    expect(ingressHostRefusal("web.shop.test", "cluster.local", NO_ALLOWANCES, undefined, ["other.test"])).toBeNull();
  });

  it("a name under one of this machine's search domains is refused; an allowed domain is written", () => {
    const machine = { search: ["corp.test"] };
    expect(ingressHostRefusal("wiki.corp.test", "cluster.local", NO_ALLOWANCES, machine)).toBe(
      "would answer for a name under this machine's search domain corp.test",
    );
    expect(ingressHostRefusal("shop.test", "cluster.local", NO_ALLOWANCES, machine)).toBeNull();
    const allow = { cidrs: [], domains: ["k8s.example.com"] };
    expect(ingressHostRefusal("shop.k8s.example.com", "cluster.local", allow)).toBeNull();
    expect(ingressHostRefusal("shop.example.com", "cluster.local", allow)).toBe("public name");
  });
});

describe("root's hosts request with Ingress hosts", () => {
  async function session(nodeIp = NODE, cidrs = ["10.96.0.0/12"]) {
    const written: (readonly HostsEntry[] | null)[] = [];
    const setHosts = async (_p: string, e: readonly HostsEntry[] | null) => void written.push(e);
    return { root: await declaredRootSession({ setHosts }, nodeIp, cidrs), written };
  }

  it("an Ingress entry is judged by the Ingress rule, may point at the declared node, and never loosens the Service rule", async () => {
    const { root, written } = await session();
    const result = await root.setHosts("minikube", [
      { ip: NODE, names: ["shop.test", "github.com", "printer.local"], kind: "ingress" },
      { ip: "10.96.5.5", names: ["gw.test"], kind: "ingress" },
      { ip: "192.168.239.3", names: ["elsewhere.test"], kind: "ingress" },
      // The same name as a Service's short name is refused: .test is the local network's for those.
      { ip: "10.96.0.20", names: ["shop.test"] },
      // A Service entry never points at the node.
      { ip: NODE, names: ["web.default"] },
    ]);
    expect(result.dropped).toEqual([
      { name: "github.com", reason: "public name" },
      { name: "printer.local", reason: "a name under .local, which this machine's own network uses" },
      {
        name: "elsewhere.test",
        reason: "192.168.239.3 is neither a forward-mode loopback address nor in a network declared for this profile",
      },
      { name: "shop.test", reason: expect.stringMatching(/that this machine's own network uses/) },
      {
        name: "web.default",
        reason: `${NODE} is neither a forward-mode loopback address nor in a network declared for this profile`,
      },
    ]);
    expect(written).toEqual([
      [
        { ip: NODE, names: ["shop.test"] },
        { ip: "10.96.5.5", names: ["gw.test"] },
      ],
    ]);
  });

  it("forward mode: Ingress hosts at loopback addresses of the forward range", async () => {
    const { root, written } = await session();
    expect(await root.setHosts("minikube", [{ ip: "127.70.255.9", names: ["shop.test"], kind: "ingress" }])).toEqual({
      written: 1,
      dropped: [],
    });
    expect(written.at(-1)).toEqual([{ ip: "127.70.255.9", names: ["shop.test"] }]);
  });

  it.each([
    ["203.0.113.7", /203\.0\.113\.7 is not on a link of this machine/],
    ["192.168.1.1", /192\.168\.1\.1 is this machine's default gateway, not a cluster node/],
  ])(
    "a declared 'node' at %s that is no node this machine reaches as one gets no names, networks or not",
    async (node, why) => {
      for (const cidrs of [[], ["10.96.0.0/12"]]) {
        const { root, written } = await session(node, cidrs);
        const result = await root.setHosts("minikube", [
          { ip: node, names: ["sso.acme.test", "registry.test"], kind: "ingress" },
        ]);
        expect(result.dropped).toEqual([
          { name: "sso.acme.test", reason: expect.stringMatching(why) },
          { name: "registry.test", reason: expect.stringMatching(why) },
        ]);
        expect(written).toEqual([null]);
      }
    },
  );
});
