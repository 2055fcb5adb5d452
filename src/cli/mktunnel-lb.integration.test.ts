import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { bundled } from "../../test-support/bundles.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import { runCli, StartedTunnel } from "../../test-support/cli-process.js";
import { privateEtc } from "../../test-support/private-etc.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: LoadBalancer end to end in network namespaces: ${skip}`);

/** The API simulator runs inside the host namespace, where mktunnel and kubectl reach it on loopback. */
describe.skipIf(skip !== null)("LoadBalancer pool mode end to end, in network namespaces", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let sim: ChildProcess;
  let kubeconfig: string;

  const kubectl = (...args: string[]) =>
    run("ip", ["netns", "exec", lab.host, "kubectl", "--kubeconfig", kubeconfig, ...args]).catch(
      (e: Error & { stderr?: string }) =>
        Promise.reject(new Error(`kubectl ${args.join(" ")}: ${e.stderr ?? e.message}`)),
    );

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    sim = spawn("ip", ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    kubeconfig = await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).once("line", resolve));
  });

  afterEach(async () => {
    sim.kill("SIGTERM");
    await lab.destroy();
    await fake.destroy();
  });

  it("a LoadBalancer Service gets a pool IP that the host reaches through the tunnel; pod CIDRs come from the Nodes; stop releases the IP", async () => {
    const manifests = join(fake.root, "objects.yaml");
    await writeFile(
      manifests,
      [
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: minikube\nspec:\n  podCIDR: 10.244.0.0/24\n  podCIDRs: [10.244.0.0/24]\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports:\n  - port: 80\n    targetPort: 8080\n",
      ].join("---\n"),
    );
    await kubectl("create", "-f", manifests);

    const tunnel = StartedTunnel.start(
      lab.host,
      ["--poll-interval", "300", "--lb-mode", "pool", "--lb-pool", "172.30.0.0/24"],
      fake.env({ KUBECONFIG: kubeconfig }),
    );
    try {
      await tunnel.ready();
      await tunnel.waitFor((e) => e.event === "service" && e.service === "default/web", 15_000, "web assigned");
      const routes = await lab.hostRoutes();
      expect(routes).toContain("10.96.0.0/12 via 192.168.49.2");
      expect(routes).toContain("10.244.0.0/24 via 192.168.49.2");
      expect(routes).toContain("172.30.0.0/24 via 192.168.49.2");

      const web = JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout);
      expect(web.status.loadBalancer.ingress).toEqual([{ ip: "172.30.0.1", ipMode: "VIP" }]);

      await lab.addServiceAddress("172.30.0.1");
      await lab.startTcpServer("172.30.0.1", 80);
      expect(await lab.connectFromHost("172.30.0.1", 80)).toBe("ok");

      const status = JSON.parse(
        (
          await runCli(
            lab.host,
            ["status", "--json", "--no-probe", "--lb-pool", "172.30.0.0/24"],
            fake.env({ KUBECONFIG: kubeconfig }),
          )
        ).stdout,
      );
      expect(status.profiles[0].services).toEqual([
        expect.objectContaining({
          namespace: "default",
          name: "web",
          owner: "minikube-tunnel",
          externalIps: [{ ip: "172.30.0.1", ipMode: "VIP" }],
        }),
      ]);
      expect(status.profiles[0].routes.map((r: { cidr: string; state: string }) => `${r.cidr}:${r.state}`)).toEqual([
        "10.96.0.0/12:active",
        "10.244.0.0/24:active",
        "172.30.0.0/24:active",
      ]);

      expect(await tunnel.stop()).toBe(0);
      const after = JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout);
      expect(after.status.loadBalancer.ingress ?? []).toEqual([]);
      expect(await lab.hostRoutes()).not.toMatch(/172\.30\.0\.0|10\.244\.0\.0|10\.96\.0\.0/);
      expect(await lab.connectFromHost("172.30.0.1", 80)).not.toBe("ok");
    } finally {
      tunnel.child.kill("SIGKILL");
    }
  });

  it("kill -9 leaves the external IP behind; cleanup removes the routes and takes the IP back", async () => {
    const manifest = join(fake.root, "svc.yaml");
    await writeFile(
      manifest,
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    );
    await kubectl("create", "-f", manifest);
    const tunnel = StartedTunnel.start(
      lab.host,
      ["--poll-interval", "300", "--lb-mode", "pool", "--lb-pool", "172.30.0.0/24"],
      fake.env({ KUBECONFIG: kubeconfig }),
    );
    await tunnel.ready();
    await tunnel.waitFor((e) => e.event === "service" && e.service === "default/web", 15_000, "web assigned");
    tunnel.child.kill("SIGKILL");
    await tunnel.exited;
    expect(JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout).status.loadBalancer.ingress).toEqual([
      { ip: "172.30.0.1", ipMode: "VIP" },
    ]);

    const result = await runCli(lab.host, ["cleanup", "--json"], fake.env({ KUBECONFIG: kubeconfig }));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).externalIps).toEqual([
      { profile: "minikube", released: ["default/web"], failures: [] },
    ]);
    expect(
      JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout).status.loadBalancer.ingress ?? [],
    ).toEqual([]);
    expect(await lab.hostRoutes()).not.toMatch(/172\.30\.0\.0|10\.96\.0\.0/);
  });

  it("without systemd-resolved, route mode names every Service in the hosts file by its ClusterIP, and follows a Service that gains one", async () => {
    const manifests = join(fake.root, "named.yaml");
    await writeFile(
      manifests,
      [
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: ClusterIP\n  clusterIP: 10.96.0.20\n  clusterIPs: [10.96.0.20]\n  ports:\n  - port: 80\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\n  namespace: default\nspec:\n  type: ExternalName\n  externalName: example.invalid\n",
      ].join("---\n"),
    );
    await kubectl("create", "-f", manifests);
    const hosts = join(privateEtc(), "hosts");
    const before = await readFile(hosts, "utf8");
    const tunnel = StartedTunnel.start(
      lab.host,
      ["--poll-interval", "300", "--lb-mode", "pool", "--lb-pool", "172.30.0.0/24"],
      fake.env({ KUBECONFIG: kubeconfig }),
    );
    try {
      await tunnel.ready();
      const on = await tunnel.waitFor(
        (e) =>
          e.event === "state" &&
          String((e as { names?: { how?: string } }).names?.how).startsWith("hosts file, with ClusterIPs"),
        15_000,
        "names in the hosts file",
      );
      expect((on as { names?: { how?: string } }).names?.how).toContain(
        "systemd-resolved does not answer on the system bus",
      );
      await expect
        .poll(() => readFile(hosts, "utf8"), { timeout: 10_000 })
        .toContain("10.96.0.20 web.default.svc.cluster.local web.default\n");
      expect(await readFile(hosts, "utf8")).not.toContain("ext.default");
      // ExternalName → ClusterIP: the same Services, one of them now with an address.
      await kubectl(
        "patch",
        "svc",
        "ext",
        "--type=merge",
        "-p",
        '{"spec":{"type":"ClusterIP","externalName":null,"clusterIP":"10.96.0.30","clusterIPs":["10.96.0.30"],"ports":[{"port":80}]}}',
      );
      await expect
        .poll(() => readFile(hosts, "utf8"), { timeout: 10_000 })
        .toContain("10.96.0.30 ext.default.svc.cluster.local ext.default\n");
      expect(await tunnel.stop()).toBe(0);
      expect(await readFile(hosts, "utf8")).toBe(before);
    } finally {
      tunnel.child.kill("SIGKILL");
    }
  });
});
