import { type ChildProcess, spawn } from "node:child_process";
import { readFile, rm, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bundled } from "./bundles.js";
import { StartedTunnel, runCli } from "./cli-process.js";
import { timeUntil } from "./eventually.js";
import { FakeMinikube } from "./fake-minikube.js";
import { inHostOf, ingressState, killAndCleanUp, kubectlOf, named } from "./ingress-lab-steps.js";
import { IngressStandIn, standInReply } from "./ingress-standin.js";
import { createWithKubectl } from "./kube-sim/kubectl-objects.js";
import {
  gateway,
  gatewayService,
  ingress,
  ingressBehindClusterIp,
  minikubeIngressAddon,
  route,
} from "./kube-sim/network-fixtures.js";
import { NetnsLab, labUnavailableReason } from "./netns-lab.js";
import { privateEtc } from "./private-etc.js";
import { ResolvedLab, resolvedUnavailableReason, startClusterDns } from "./resolved-lab.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: Ingress names in route mode: ${skip}`);
const noResolved = skip ?? resolvedUnavailableReason();
if (noResolved && !skip) console.log(`skipped: Ingress names beside a real systemd-resolved: ${noResolved}`);

/** In the lab's service CIDR (fake-minikube's 10.96.0.0/12), which route mode routes to the node. */
const CONTROLLER_CLUSTER_IP = "10.96.200.10";

/**
 * Ingress names in route mode, end to end (docs/architecture.md, "Ingress and Gateway names"): minikube's ingress
 * addon as kube-sim holds it (a controller pod with hostPorts 80 and 443 on the lab's node), a stand-in controller
 * answering on those ports in the node namespace, and `mktunnel start` in the host namespace writing the names into a
 * private /etc/hosts. Every lookup goes through glibc (getent, curl without --resolve).
 */
describe.skipIf(skip !== null)("Ingress names in route mode, with minikube's ingress addon on a lab node", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let sim: ChildProcess;
  let kubeconfig: string;
  let standIn: IngressStandIn | undefined;
  let dir: string;
  let tunnel: StartedTunnel | null = null;
  let resolvConf: string;

  const kubectl = kubectlOf(
    () => lab.host,
    () => kubeconfig,
  );
  const inHost = inHostOf(() => lab.host);
  const hosts = () => readFile(join(privateEtc(), "hosts"), "utf8");
  const curl = (...args: string[]) => inHost("curl", "-s", "--max-time", "5", ...args);
  const start = (env: NodeJS.ProcessEnv = {}, lb: readonly string[] = ["--no-lb"]) =>
    (tunnel = StartedTunnel.start(
      lab.host,
      ["--mode", "route", ...lb, "--poll-interval", "300"],
      fake.env({ KUBECONFIG: kubeconfig, ...env }),
    ));

  beforeEach(async () => {
    resolvConf = await readFile(join(privateEtc(), "resolv.conf"), "utf8").catch(() => "");
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    dir = await mkdtemp(join(tmpdir(), "mkt-ingress-objects-"));
    sim = spawn(
      "ip",
      ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube", "gateway-api"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    kubeconfig = await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).once("line", resolve));
  });

  /** minikube's addon (hostPorts on the node) and its stand-in, with shop.test and a public host. */
  const addon = async (): Promise<IngressStandIn> => {
    await createWithKubectl(kubectl, dir, [
      ...minikubeIngressAddon(lab.nodeIp),
      ingress("shop", ["shop.test"], { tlsHosts: ["shop.test"] }),
      // A public name: root refuses it, and the snapshot says so.
      ingress("stream", ["twitch.tv"]),
    ]);
    standIn = await IngressStandIn.start(lab.node, lab.nodeIp, ["shop.test"]);
    return standIn;
  };

  afterEach(async () => {
    await killAndCleanUp(tunnel, lab.host, fake.env({ KUBECONFIG: kubeconfig }));
    tunnel = null;
    await standIn?.stop();
    standIn = undefined;
    sim?.kill("SIGTERM");
    await lab.destroy();
    await fake.destroy();
    await rm(dir, { recursive: true, force: true });
    await writeFile(join(privateEtc(), "resolv.conf"), resolvConf);
  });

  it("shop.test resolves through the hosts file to the node and the controller answers on 80 and 443; a public host is not written, with why; the Ingress deleted, its name goes within 5 s; stop leaves the file as it was", async () => {
    const controller = await addon();
    const before = await hosts();
    const t = start();
    await t.ready();
    const on = await ingressState(t, (n) => named(n, "shop.test")?.mapped === true, "shop.test mapped");
    expect(named(on.ingresses!, "shop.test")).toMatchObject({
      object: "default/shop",
      address: lab.nodeIp,
      ports: [
        { port: 80, protocol: "http" },
        { port: 443, protocol: "https" },
      ],
    });
    expect(named(on.ingresses!, "twitch.tv")).toMatchObject({
      object: "default/stream",
      address: lab.nodeIp,
      mapped: false,
      reason: "public name",
    });

    const during = await hosts();
    expect(during.startsWith(before)).toBe(true);
    expect(during.slice(before.length)).toMatch(
      /^# BEGIN minikube-tunnel profile=minikube pid=\d+ started=\S+\n192\.168\.49\.2 shop\.test\n# END minikube-tunnel profile=minikube\n$/,
    );
    expect(during).not.toContain("twitch.tv");
    expect(await inHost("getent", "hosts", "shop.test")).toMatch(/^192\.168\.49\.2\s+shop\.test$/);
    expect(await curl("http://shop.test/")).toBe(standInReply("shop.test"));
    expect(await curl("--cacert", controller.certificate, "https://shop.test/")).toBe(standInReply("shop.test"));

    await kubectl("delete", "ingress", "shop");
    const gone = await timeUntil(async () => !(await hosts()).includes("shop.test"), {
      timeoutMs: 5000,
      what: "shop.test gone from the hosts file",
    });
    console.log(`Ingress deleted → its name out of the hosts file in ${Math.round(gone)} ms`);
    expect(await inHost("getent", "hosts", "shop.test")).toBe("exit 2");
    await ingressState(t, (n) => named(n, "shop.test") === undefined, "shop.test gone from the snapshot");

    expect(await t.stop()).toBe(0);
    expect(await hosts()).toBe(before);
  });

  it("a controller installed while the tunnel runs, without hostPorts, is reached at its Service's ClusterIP through the service route, for rule and TLS-only hosts; an Ingress created later resolves within 5 s", async () => {
    const [ns, ingressClass, pod, service] = ingressBehindClusterIp(CONTROLLER_CLUSTER_IP, lab.nodeIp);
    await createWithKubectl(kubectl, dir, [
      ns!,
      ingressClass!,
      ingress("shop", ["shop.test"], { tlsHosts: ["shop.test", "secure.test"] }),
    ]);
    // kube-proxy's part: the ClusterIP answers on the node.
    await lab.addServiceAddress(CONTROLLER_CLUSTER_IP);
    standIn = await IngressStandIn.start(lab.node, CONTROLLER_CLUSTER_IP, ["shop.test", "secure.test", "cart.test"]);
    const before = await hosts();
    const t = start();
    await t.ready();
    const waiting = await ingressState(t, (n) => named(n, "shop.test") !== undefined, "shop.test known");
    expect(named(waiting.ingresses!, "shop.test")).toMatchObject({
      mapped: false,
      reason: expect.stringContaining("no pod of ingress controller k8s.io/ingress-nginx"),
    });

    // The controller is installed now (helm install ingress-nginx): its names follow within 5 s.
    await createWithKubectl(kubectl, dir, [pod!, service!]);
    const installed = await timeUntil(async () => (await hosts()).includes("shop.test"), {
      timeoutMs: 5000,
      what: "shop.test in the hosts file",
    });
    console.log(`route mode: controller installed → its names in the hosts file in ${Math.round(installed)} ms`);
    const on = await ingressState(t, (n) => named(n, "shop.test")?.mapped === true, "shop.test mapped");
    expect(named(on.ingresses!, "shop.test")?.address).toBe(CONTROLLER_CLUSTER_IP);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await inHost("getent", "hosts", "shop.test")).toMatch(/^10\.96\.200\.10\s+secure\.test shop\.test$/);
    expect(await curl("--cacert", standIn.certificate, "https://shop.test/")).toBe(standInReply("shop.test"));
    expect(await curl("--cacert", standIn.certificate, "https://secure.test/")).toBe(standInReply("secure.test"));

    await createWithKubectl(kubectl, dir, [ingress("cart", ["cart.test"])]);
    const added = await timeUntil(async () => (await curl("http://cart.test/")) === standInReply("cart.test"), {
      timeoutMs: 5000,
      what: "cart.test answering",
    });
    console.log(`route mode: Ingress created → its name answers in ${Math.round(added)} ms`);
    expect(await t.stop()).toBe(0);
    expect(await hosts()).toBe(before);
  });

  it("a Gateway's route hostnames resolve to the address its implementation copied from its Service (a pool IP our controller gave), and answer there; a route deleted, its names go within 5 s", async () => {
    await createWithKubectl(kubectl, dir, [
      gatewayService("eg", { clusterIP: "10.96.210.10" }),
      gateway("eg", [{ name: "http", port: 80, protocol: "HTTP" }]),
      route("HTTPRoute", "api", [{ name: "eg", accepted: true }], { hostnames: ["api.gw.test", "www.gw.test"] }),
    ]);
    const before = await hosts();
    const t = start({}, ["--lb-mode", "pool", "--lb-pool", "172.30.0.0/24"]);
    await t.ready();
    await t.waitFor((e) => e.event === "service" && e.service === "default/envoy-eg", 15_000, "the Gateway's Service");
    const ip = JSON.parse((await kubectl("get", "svc", "envoy-eg", "-o", "json")).stdout).status.loadBalancer.ingress[0]
      .ip as string;
    expect(ip).toBe("172.30.0.1");
    // The Gateway implementation's part: the Service's address into the Gateway's status, and the proxy answering.
    await kubectl(
      "patch",
      "gateways.gateway.networking.k8s.io",
      "eg",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { addresses: [{ type: "IPAddress", value: ip }] } }),
    );
    await lab.addServiceAddress(ip);
    standIn = await IngressStandIn.start(lab.node, ip, ["api.gw.test", "www.gw.test"]);

    const on = await ingressState(
      t,
      (n) => named(n, "api.gw.test")?.mapped === true && named(n, "www.gw.test")?.mapped === true,
      "the Gateway's names mapped",
      "gateways",
    );
    expect(named(on.gateways!, "api.gw.test")).toMatchObject({
      object: "default/eg",
      address: ip,
      ports: [{ port: 80, protocol: "http" }],
      via: ["HTTPRoute default/api"],
    });
    expect(await inHost("getent", "hosts", "api.gw.test")).toMatch(/^172\.30\.0\.1\s+api\.gw\.test www\.gw\.test$/);
    expect(await curl("http://api.gw.test/")).toBe(standInReply("api.gw.test"));
    expect(await curl("http://www.gw.test/")).toBe(standInReply("www.gw.test"));

    await kubectl("delete", "httproutes.gateway.networking.k8s.io", "api");
    const gone = await timeUntil(async () => !(await hosts()).includes("gw.test"), {
      timeoutMs: 5000,
      what: "the route's names gone from the hosts file",
    });
    console.log(`route mode: HTTPRoute deleted → its names out of the hosts file in ${Math.round(gone)} ms`);
    expect(await t.stop()).toBe(0);
    expect(await hosts()).toBe(before);
  });

  describe.skipIf(noResolved !== null)("beside a real systemd-resolved", () => {
    let resolved: ResolvedLab;
    let dns: ChildProcess;

    /** Ready, shop.test mapped, and the cluster domain on the link: where both tests below start from. */
    const mappedWithNamesOn = async (t: StartedTunnel) => {
      await t.ready();
      await ingressState(t, (n) => named(n, "shop.test")?.mapped === true, "shop.test mapped");
      await t.waitFor(
        (e) => e.event === "state" && (e as { names?: { state?: string } }).names?.state === "on",
        15_000,
        "names on",
      );
    };

    beforeEach(async () => {
      resolved = await ResolvedLab.start(lab);
      await writeFile(join(privateEtc(), "resolv.conf"), "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
      dns = await startClusterDns(lab, "10.96.0.10", { "web.default.svc.cluster.local": "10.96.0.20" });
    });

    afterEach(async () => {
      await killAndCleanUp(
        tunnel,
        lab.host,
        fake.env({ KUBECONFIG: kubeconfig, DBUS_SYSTEM_BUS_ADDRESS: resolved.busAddress }),
      );
      tunnel = null;
      dns?.kill("SIGKILL");
      await resolved?.stop();
    });

    it("the cluster domain goes to the cluster's DNS on the link, and shop.test still goes in the hosts block and answers", async () => {
      const controller = await addon();
      const before = await hosts();
      const t = start({ DBUS_SYSTEM_BUS_ADDRESS: resolved.busAddress });
      await mappedWithNamesOn(t);
      expect(await resolved.linkServers("mkt0")).toBe("10.96.0.10");
      expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toMatch(/^10\.96\.0\.20\s/);
      expect((await hosts()).slice(before.length)).toMatch(
        /^# BEGIN minikube-tunnel profile=minikube pid=\d+ started=\S+\n192\.168\.49\.2 shop\.test\n# END minikube-tunnel profile=minikube\n$/,
      );
      expect(await inHost("getent", "hosts", "shop.test")).toMatch(/^192\.168\.49\.2\s+shop\.test$/);
      expect(await curl("http://shop.test/")).toBe(standInReply("shop.test"));
      expect(await curl("--cacert", controller.certificate, "https://shop.test/")).toBe(standInReply("shop.test"));

      expect(await t.stop()).toBe(0);
      expect(await hosts()).toBe(before);
      expect(await resolved.linkServers("mkt0")).toBe("");
    });

    it("kill -9: cleanup takes back both the link's resolver settings and the hosts block with the Ingress names", async () => {
      await addon();
      const before = await hosts();
      const env = { DBUS_SYSTEM_BUS_ADDRESS: resolved.busAddress };
      const t = start(env);
      await mappedWithNamesOn(t);
      t.child.kill("SIGKILL");
      await t.exited;
      expect(await hosts()).toContain("shop.test");
      const cleanup = await runCli(lab.host, ["cleanup", "--json"], fake.env({ KUBECONFIG: kubeconfig, ...env }));
      expect(await hosts()).toBe(before);
      expect(await resolved.linkServers("mkt0")).toBe("");
      expect(JSON.parse(cleanup.stdout).names).toEqual(
        expect.arrayContaining(["mkt0 (minikube)", "hosts block of minikube"]),
      );
    });
  });
});
