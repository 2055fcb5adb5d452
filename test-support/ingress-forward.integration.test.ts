import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { IngressNameStatus } from "../src/engine/access/cluster-access.js";
import { ingressRangeFor, preferredIngressAddress } from "../src/engine/access/forwards/ingress-forwards.js";
import { loopbackOctetFor } from "../src/engine/access/forwards/loopback-range.js";
import type { StartedTunnel } from "./cli-process.js";
import { timeUntil } from "./eventually.js";
import {
  type ForwardLab,
  createForwardLab,
  destroyForwardLab,
  listening,
  startForwardTunnel,
  state,
  stateSince,
} from "./forward-lab.js";
import { inHostOf, ingressState, killAndCleanUp, named } from "./ingress-lab-steps.js";
import { IngressStandIn, standInReply } from "./ingress-standin.js";
import { createWithKubectl } from "./kube-sim/kubectl-objects.js";
import { gateway, gatewayService, ingress, minikubeIngressAddon, route } from "./kube-sim/network-fixtures.js";
import { labUnavailableReason } from "./netns-lab.js";
import { privateEtc } from "./private-etc.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: Ingress names in forward mode: ${skip}`);

/** The Gateway's Service's ClusterIP, where its proxy answers on the node. */
const GATEWAY_CLUSTER_IP = "10.96.210.10";

/** The profile's /16's last /24 (ingress-forwards.ts): where forward mode puts its ingress controllers. */
const INGRESS_ADDRESS = /^127\.\d+\.255\.\d+$/;

/**
 * Ingress names in forward mode, end to end (docs/architecture.md, "Ingress and Gateway names"): the node cannot be
 * routed to (test-support/forward-lab.ts), minikube's ingress addon's controller has hostPorts 80 and 443 on it, and a
 * stand-in controller answers there. The tunnel gives that controller one loopback address, forwards 80 and 443 over
 * the SSH link to the node's own address (as minikube's tunnel does), and names shop.test at it in a private
 * /etc/hosts; glibc resolves it (getent, curl without --resolve).
 */
describe.skipIf(skip !== null).each(["openssh", "ssh2"] as const)(
  "Ingress names in forward mode over %s, with minikube's ingress addon on a lab node",
  (client) => {
    let forward: ForwardLab;
    let standIn: IngressStandIn;
    let tunnel: StartedTunnel | null = null;

    const inHost = inHostOf(() => forward.lab.host);
    const hosts = () => readFile(join(privateEtc(), "hosts"), "utf8");
    const curl = (...args: string[]) => inHost("curl", "-s", "--max-time", "5", ...args);
    /** Written to the hosts file, and each of its ports listening on its loopback address. */
    const answers = (names: IngressNameStatus[], host: string) =>
      named(names, host)?.mapped === true && named(names, host)!.ports.every((p) => p.state === "listening");

    /** `mktunnel start --mode forward` in the lab's host namespace, over this SSH client, once ready. */
    const startForward = async () => {
      const t = (tunnel = startForwardTunnel(forward, client));
      await t.ready();
      return t;
    };

    beforeEach(async () => {
      forward = await createForwardLab({ gatewayApi: true });
      await createWithKubectl(forward.kubectl, forward.fake.root, [
        ...minikubeIngressAddon(forward.lab.nodeIp),
        ingress("shop", ["shop.test"], { tlsHosts: ["shop.test"] }),
        ingress("stream", ["twitch.tv"]),
      ]);
      standIn = await IngressStandIn.start(forward.lab.node, forward.lab.nodeIp, ["shop.test"]);
    });

    afterEach(async () => {
      await killAndCleanUp(tunnel, forward.lab.host, forward.fake.env({ KUBECONFIG: forward.kubeconfig }));
      tunnel = null;
      await standIn?.stop();
      await destroyForwardLab(forward);
    });

    it("shop.test resolves to the controller's loopback address, which answers 80 and 443 through the link; a public host is not written; the Ingress deleted, its name goes within 5 s", async () => {
      const before = await hosts();
      const t = await startForward();
      const on = await ingressState(t, (n) => answers(n, "shop.test"), "shop.test mapped, 80 and 443 listening");
      const shop = named(on.ingresses!, "shop.test")!;
      expect(shop.address).toMatch(INGRESS_ADDRESS);
      expect(shop.ports).toEqual([
        { port: 80, protocol: "http", state: "listening" },
        { port: 443, protocol: "https", state: "listening" },
      ]);
      // Both hosts share the controller, so its one address.
      expect(named(on.ingresses!, "twitch.tv")).toMatchObject({
        address: shop.address,
        mapped: false,
        reason: "public name",
      });

      const address = shop.address!.replace(/\./g, "\\.");
      expect(await hosts()).toMatch(new RegExp(`\\n${address} shop\\.test\\n`));
      expect(await hosts()).not.toContain("twitch.tv");
      expect(await inHost("getent", "hosts", "shop.test")).toMatch(new RegExp(`^${address}\\s+shop\\.test$`));
      expect(await curl("http://shop.test/")).toBe(standInReply("shop.test"));
      expect(await curl("--cacert", standIn.certificate, "https://shop.test/")).toBe(standInReply("shop.test"));

      await forward.kubectl("delete", "ingress", "shop");
      const gone = await timeUntil(async () => !(await hosts()).includes("shop.test"), {
        timeoutMs: 5000,
        what: "shop.test gone from the hosts file",
      });
      console.log(
        `forward mode over ${client}: Ingress deleted → its name out of the hosts file in ${Math.round(gone)} ms`,
      );
      expect(await inHost("getent", "hosts", "shop.test")).toBe("exit 2");

      expect(await t.stop()).toBe(0);
      expect(await hosts()).toBe(before);
      expect(await curl("http://shop.test/")).toMatch(/^exit /);
    });

    it.runIf(client === "ssh2")(
      "attacked: another local user listens first on the address shop.test's controller is predicted to get: the name never goes there, it moves to the next free address, and answers",
      async () => {
        // Anyone can compute it: the profile's name picks the /16, the controller's node address the /24's host.
        const key = `node-hostport|${forward.lab.nodeIp}`;
        const predicted = preferredIngressAddress(ingressRangeFor(loopbackOctetFor("minikube")), key);
        await forward.lab.startTcpServer(predicted, 80, "attacker", "host");
        const before = await hosts();
        const t = await startForward();
        const on = await ingressState(t, (n) => answers(n, "shop.test"), "shop.test mapped and listening");
        const moved = named(on.ingresses!, "shop.test")!.address!;
        expect(moved).toMatch(INGRESS_ADDRESS);
        expect(moved).not.toBe(predicted);
        expect(await hosts()).not.toContain(predicted);
        expect(await inHost("getent", "hosts", "shop.test")).toMatch(
          new RegExp(`^${moved.replace(/\./g, "\\.")}\\s+shop\\.test$`),
        );
        expect(await curl("http://shop.test/")).toBe(standInReply("shop.test"));
        expect(
          t.events.some(
            (e) => e.event === "log" && String(e.message).includes(`${predicted} is in use by another program`),
          ),
        ).toBe(true);
        expect(await t.stop()).toBe(0);
        expect(await hosts()).toBe(before);
      },
    );

    it("with no LoadBalancer Service at all (only the addon's NodePort), shop.test still resolves and answers; an Ingress created later too", async () => {
      await forward.kubectl("delete", "service", "web", "api", "admin");
      const before = await hosts();
      const t = await startForward();
      await ingressState(t, (n) => answers(n, "shop.test"), "shop.test mapped and listening");
      expect(await curl("http://shop.test/")).toBe(standInReply("shop.test"));

      await createWithKubectl(forward.kubectl, forward.fake.root, [ingress("cart", ["cart.test"])]);
      const added = await timeUntil(async () => (await curl("http://cart.test/")) === standInReply("cart.test"), {
        timeoutMs: 5000,
        what: "cart.test answering",
      });
      console.log(`forward mode over ${client}: Ingress created → its name answers in ${Math.round(added)} ms`);
      expect(await t.stop()).toBe(0);
      expect(await hosts()).toBe(before);
    });

    it("the node side drops the link: shop.test answers again through the new link within 15 s, at the same address", async () => {
      const t = await startForward();
      const on = await ingressState(t, (n) => answers(n, "shop.test"), "shop.test mapped and listening");
      expect(await curl("http://shop.test/")).toBe(standInReply("shop.test"));
      const dropped = performance.now();
      const from = t.events.length;
      await forward.node.killSessions();
      await stateSince(t, from, (s) => s.link?.state !== "up", "link down", 10_000);
      const back = await timeUntil(async () => (await curl("http://shop.test/")) === standInReply("shop.test"), {
        timeoutMs: 15_000,
        what: "shop.test answering again",
      });
      console.log(`forward mode over ${client}: link dropped → shop.test answers again in ${Math.round(back)} ms`);
      expect(performance.now() - dropped).toBeLessThan(15_000);
      const after = await ingressState(t, (n) => named(n, "shop.test")?.mapped === true, "shop.test mapped");
      expect(named(after.ingresses!, "shop.test")!.address).toBe(named(on.ingresses!, "shop.test")!.address);
      expect(await t.stop()).toBe(0);
    });

    it("a Gateway's route hostnames resolve to the loopback address our controller gave its Service, as its implementation copied it, and answer through the link", async () => {
      await createWithKubectl(forward.kubectl, forward.fake.root, [
        gatewayService("eg", { clusterIP: GATEWAY_CLUSTER_IP }),
        gateway("eg", [{ name: "http", port: 80, protocol: "HTTP" }]),
        route("HTTPRoute", "api", [{ name: "eg", accepted: true }], { hostnames: ["api.gw.test"] }),
      ]);
      await forward.lab.addServiceAddress(GATEWAY_CLUSTER_IP);
      const proxy = await IngressStandIn.start(forward.lab.node, GATEWAY_CLUSTER_IP, ["api.gw.test"]);
      try {
        const before = await hosts();
        const t = await startForward();
        await t.waitFor((e) => e.event === "service" && e.service === "default/envoy-eg", 15_000, "the Service");
        const ip = (await forward.externalIpsOf("envoy-eg"))[0].ip as string;
        // The Gateway implementation's part: its Service's address into the Gateway's status.
        await forward.kubectl(
          "patch",
          "gateways.gateway.networking.k8s.io",
          "eg",
          "--subresource=status",
          "--type=merge",
          "-p",
          JSON.stringify({ status: { addresses: [{ type: "IPAddress", value: ip }] } }),
        );
        // Before its status is read, the name may be mapped to where the Gateway's Service was found first: wait for
        // the address the implementation copied.
        const on = await ingressState(
          t,
          (n) => named(n, "api.gw.test")?.mapped === true && named(n, "api.gw.test")?.address === ip,
          "api.gw.test at the Gateway's address",
          "gateways",
        );
        // The name is the Service's own address: its listener is the Service's.
        await state(
          t,
          (s) => listening(s).some((f) => f.name === "envoy-eg" && f.address === ip),
          "envoy-eg listening",
        );
        expect(named(on.gateways!, "api.gw.test")).toMatchObject({ object: "default/eg", address: ip });
        expect(await inHost("getent", "hosts", "api.gw.test")).toMatch(
          new RegExp(`^${ip.replace(/\./g, "\\.")}\\s+api\\.gw\\.test$`),
        );
        expect(await curl("http://api.gw.test/")).toBe(standInReply("api.gw.test"));
        expect(await t.stop()).toBe(0);
        expect(await hosts()).toBe(before);
      } finally {
        await proxy.stop();
      }
    });
  },
);
