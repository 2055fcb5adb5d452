import { createServer, type Server } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { gatewayAddress, hostEntry as entry } from "../../test-support/name-entries.js";
import { shopName } from "../../test-support/name-views.js";
import { simulator } from "../../test-support/kube-sim/ingress-discovery-setup.js";
import { applyAll, ingress, minikubeIngressAddon } from "../../test-support/kube-sim/network-fixtures.js";
import { KubeHttp } from "../engine/kube/kube-http.js";
import type { IngressNames, NameAddress } from "../engine/ingress/name-types.js";
import { ingressReport, type NameLookup, readIngressNames } from "./ingress-status.js";
import { NameAnnouncer, nameBlocks, nameLine } from "./name-lines.js";

/** What this machine's resolver answers, as a table: the real resolver reads /etc/hosts, which a test must not edit. */
const resolver =
  (table: Record<string, string[]>): NameLookup =>
  async (host) =>
    table[host] ?? [];

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("status: Ingress and Gateway names from another process", () => {
  it("route mode: a name resolving to its controller's address is mapped; a public one is not, with curl --resolve", async () => {
    const names: IngressNames = {
      entries: [
        entry("shop.example.com", "default/public"),
        entry("shop.test", "default/shop"),
        entry("api.test", "default/gw", gatewayAddress, { source: "gateway", via: ["HTTPRoute default/api"] }),
      ],
      unmapped: [{ host: "lost.test", source: "ingress", object: "default/lost", wildcard: false, reason: "no class" }],
    };
    const report = await ingressReport(names, "route", {
      tunnelRunning: true,
      lookup: resolver({ "shop.test": ["192.168.49.2"], "shop.example.com": ["93.184.215.14"], "api.test": [] }),
    });
    expect(report.ingresses).toEqual([
      {
        host: "lost.test",
        object: "default/lost",
        address: null,
        ports: [],
        mapped: false,
        reason: "no class",
      },
      {
        host: "shop.example.com",
        object: "default/public",
        address: "192.168.49.2",
        ports: [
          { port: 80, protocol: "http" },
          { port: 443, protocol: "https" },
        ],
        mapped: false,
        reason: "resolves to 93.184.215.14 on this machine",
        curl: "curl --resolve shop.example.com:80:192.168.49.2 http://shop.example.com/",
      },
      shopName,
    ]);
    expect(report.gateways).toEqual([
      {
        host: "api.test",
        object: "default/gw",
        address: "10.96.5.5",
        ports: [{ port: 80, protocol: "http" }],
        mapped: false,
        reason: "does not resolve on this machine (see the tunnel's log)",
        via: ["HTTPRoute default/api"],
        curl: "curl --resolve api.test:80:10.96.5.5 http://api.test/",
      },
    ]);
    expect(nameBlocks(report)).toEqual([
      "  Ingress",
      "    lost.test  not mapped: no class",
      "    shop.example.com  not mapped: resolves to 93.184.215.14 on this machine — curl --resolve shop.example.com:80:192.168.49.2 http://shop.example.com/",
      "    shop.test → 192.168.49.2 (80, 443)",
      "  Gateway",
      "    api.test  not mapped: does not resolve on this machine (see the tunnel's log) — curl --resolve api.test:80:10.96.5.5 http://api.test/",
    ]);
  });

  it("route mode without a tunnel says so; a wildcard is checked through a name it covers", async () => {
    const names: IngressNames = {
      entries: [entry("shop.test", "default/shop"), entry("*.apps.test", "default/w")],
      unmapped: [],
    };
    const asked: string[] = [];
    const report = await ingressReport(names, "route", {
      tunnelRunning: false,
      lookup: async (host) => {
        asked.push(host);
        return host.endsWith(".apps.test") ? ["192.168.49.2"] : [];
      },
    });
    expect(asked.sort()).toEqual(["mktunnel-status-check.apps.test", "shop.test"]);
    expect(report.ingresses.map((n) => [n.host, n.mapped, n.reason])).toEqual([
      ["*.apps.test", true, undefined],
      ["shop.test", false, "no tunnel runs for this profile: `mktunnel start`"],
    ]);
  });

  it("forward mode: the loopback address the name resolves to, and each port's listener probed", async () => {
    const loopback = "127.64.0.200";
    const server = createServer((socket) => socket.end());
    servers.push(server);
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, loopback, () => resolve((server.address() as { port: number }).port));
    });
    const address: NameAddress = {
      kind: "node-hostport",
      ip: "192.168.49.2",
      ports: [
        { port, protocol: "http" },
        { port: port === 65535 ? 65534 : port + 1, protocol: "https" },
      ],
    };
    const names: IngressNames = {
      entries: [entry("shop.test", "default/shop", address), entry("gone.test", "default/gone", address)],
      unmapped: [],
    };
    const report = await ingressReport(names, "forward", {
      tunnelRunning: true,
      lookup: resolver({ "shop.test": [loopback], "gone.test": ["192.168.49.2"] }),
    });
    const shop = report.ingresses.find((n) => n.host === "shop.test")!;
    expect(shop).toMatchObject({ address: loopback, mapped: true });
    expect(shop.ports).toEqual([
      { port, protocol: "http", state: "listening" },
      { port: address.ports[1]!.port, protocol: "https", state: "error", error: "not listening" },
    ]);
    expect(nameLine(shop)).toBe(`shop.test → ${loopback} (${port}, ${address.ports[1]!.port} not listening)`);
    expect(report.ingresses.find((n) => n.host === "gone.test")).toMatchObject({
      address: null,
      mapped: false,
      reason: "no loopback address of the tunnel answers for it",
    });
  });
});

describe("status reads the cluster's names once", () => {
  it("lists minikube's ingress addon and an Ingress, then lets go of the API", async () => {
    const sim = await simulator();
    applyAll(sim, [...minikubeIngressAddon(), ingress("shop", ["shop.test"], { tlsHosts: ["shop.test"] })]);
    const config = new KubeConfig();
    config.loadFromFile(sim.kubeconfig);
    config.setCurrentContext(sim.profile);
    const api = await KubeHttp.fromKubeConfig(config, { timeoutMs: 3000 });
    try {
      const names = await readIngressNames(api);
      expect(names.entries.map((e) => [e.host, e.object, e.address.kind, e.address.ip])).toEqual([
        ["shop.test", "default/shop", "node-hostport", "192.168.49.2"],
      ]);
      const report = await ingressReport(names, "route", { tunnelRunning: false, lookup: resolver({}) });
      expect(report.ingresses[0]).toMatchObject({
        host: "shop.test",
        mapped: false,
        ports: [{ port: 80 }, { port: 443 }],
      });
    } finally {
      api.close();
    }
  });
});

describe("mktunnel start: names as they appear", () => {
  it("prints a name when it appears or changes, once, and says when it goes", () => {
    const announcer = new NameAnnouncer();
    const shop = {
      host: "shop.test",
      object: "default/shop",
      address: "192.168.49.2",
      ports: [{ port: 80, protocol: "http" as const }],
      mapped: true,
    };
    expect(announcer.update([])).toEqual([]);
    expect(announcer.update([shop])).toEqual(["name shop.test → 192.168.49.2 (80)"]);
    expect(announcer.update([shop])).toEqual([]);
    expect(announcer.update([{ ...shop, mapped: false, reason: "public name" }])).toEqual([
      "name shop.test  not mapped: public name — curl --resolve shop.test:80:192.168.49.2 http://shop.test/",
    ]);
    expect(announcer.update([])).toEqual(["name shop.test gone (default/shop)"]);
  });
});
