import { describe, expect, it } from "vitest";
import { parseCidr } from "../../../shared/cidr.js";
import type { NamesWriter } from "../names/names-writer.js";
import { RootSession, type RootSessionDeps } from "../root-session.js";
import type { HostsEntry } from "../root.js";
import { NO_ALLOWANCES } from "./allowances.js";
import { hostNameRefusal, ingressHostRefusal } from "./name-policy.js";

describe('Ingress and Gateway hosts root writes (docs/security.md, "The root policy")', () => {
  it.each(["shop.test", "api.shop.test", "app.internal", "web.example", "demo.minikube", "svc.k8s", "x.home.lab"])(
    "%s, a private name whoever writes the Ingress chose, is written",
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
  ])("%s is refused: %s", (name, why) => {
    expect(ingressHostRefusal(name, "cluster.local", NO_ALLOWANCES)).toBe(why);
  });

  it("a name under one of this machine's search domains is refused; an allowed domain is written", () => {
    const machine = { search: ["corp.test", "eng"] };
    expect(ingressHostRefusal("wiki.corp.test", "cluster.local", NO_ALLOWANCES, machine)).toBe(
      "would answer for a name under this machine's search domain corp.test",
    );
    expect(ingressHostRefusal("build.eng", "cluster.local", NO_ALLOWANCES, machine)).toBe(
      "would answer for a name under this machine's search domain eng",
    );
    expect(ingressHostRefusal("shop.test", "cluster.local", NO_ALLOWANCES, machine)).toBeNull();
    const allow = { cidrs: [], domains: ["k8s.example.com"] };
    expect(ingressHostRefusal("shop.k8s.example.com", "cluster.local", allow)).toBeNull();
    expect(ingressHostRefusal("shop.example.com", "cluster.local", allow)).toBe("public name");
  });
});

describe("root's hosts request with Ingress hosts", () => {
  const NODE = "192.168.239.2";
  async function session() {
    const written: (readonly HostsEntry[] | null)[] = [];
    const names = { setHosts: async (_p: string, e: readonly HostsEntry[] | null) => void written.push(e) };
    const root = new RootSession({
      table: { list: async () => [] },
      registry: {},
      registrar: {},
      user: { uid: 1000, gid: 1000 },
      relayTargetOwner: null,
      allowances: NO_ALLOWANCES,
      operator: false,
      runtimeDir: null,
      names: names as unknown as NamesWriter,
      log: () => undefined,
    } as unknown as RootSessionDeps);
    await root.declare({
      profile: "minikube",
      nodeIp: NODE,
      cidrs: [parseCidr("10.96.0.0/12")],
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
    });
    return { root, written };
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
});
