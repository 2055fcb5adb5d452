import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../eventually.js";
import { KubeSim } from "./kube-sim.js";
import { GATEWAY_API_STANDARD } from "./resource-kinds.js";

const run = promisify(execFile);

/** If kubectl refuses something here, the simulator is wrong, not kubectl. */
describe("the real kubectl drives the simulator", () => {
  let sim: KubeSim;
  // Discovery is cached per test run, so a CRD installed while running is found the way a user's kubectl finds it.
  const kubectl = (...args: string[]) =>
    run("kubectl", ["--kubeconfig", sim.kubeconfig, "--cache-dir", join(sim.certs.dir, "kube-cache"), ...args], {
      timeout: 20_000,
    });

  const watchers: ChildProcess[] = [];

  beforeAll(async () => {
    sim = await KubeSim.start({ bookmarkIntervalMs: 300 });
  });
  afterEach(() => {
    for (const watcher of watchers.splice(0)) watcher.kill();
  });
  afterAll(() => sim.stop());

  it("uses the minikube-style context named after the profile, over HTTPS with a client certificate", async () => {
    const { stdout } = await kubectl("config", "current-context");
    expect(stdout.trim()).toBe("minikube");
    const { stdout: version } = await kubectl("version", "-o", "json");
    expect(JSON.parse(version).serverVersion.gitVersion).toMatch(/^v1\.34/);
  });

  it("create -f, get -A -o json, patch --subresource=status, get -w sees it, delete", async () => {
    const manifest = join(sim.certs.dir, "service.yaml");
    await writeFile(
      manifest,
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  type: LoadBalancer\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n",
    );
    expect((await kubectl("create", "-f", manifest)).stdout.trim()).toBe("service/web created");

    const list = JSON.parse((await kubectl("get", "svc", "-A", "-o", "json")).stdout);
    const web = list.items.find((s: { metadata: { name: string } }) => s.metadata.name === "web");
    expect(web.spec.clusterIP).toMatch(/^10\.9[6-9]\.|^10\.1[01][0-9]\./);
    expect(web.spec.ports[0]).toMatchObject({ port: 80, protocol: "TCP", nodePort: expect.any(Number) });

    const watches = sim.openWatches;
    const watcher = spawn("kubectl", ["--kubeconfig", sim.kubeconfig, "get", "svc", "web", "-w", "-o", "json"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    watchers.push(watcher);
    let watched = "";
    watcher.stdout.on("data", (c: Buffer) => (watched += c.toString()));
    // kubectl lists, prints, then watches: the patch must come after the simulator holds its watch.
    await eventually(() => sim.openWatches > watches, {
      timeoutMs: 15_000,
      what: "kubectl's watch to reach the simulator",
    });

    const patch = JSON.stringify({
      status: { loadBalancer: { ingress: [{ ip: web.spec.clusterIP, ipMode: "VIP" }] } },
    });
    expect(
      (await kubectl("patch", "svc", "web", "--subresource=status", "--type=merge", "-p", patch)).stdout.trim(),
    ).toBe("service/web patched");
    await eventually(() => watched.includes('"ipMode": "VIP"'), {
      timeoutMs: 10_000,
      everyMs: 50,
      what: "kubectl get -w to print the patched status",
    });
    watcher.kill();

    const after = JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout);
    expect(after.status.loadBalancer.ingress).toEqual([{ ip: web.spec.clusterIP, ipMode: "VIP" }]);

    // A strategic merge patch of the spec keeps the status, as the main resource must.
    await kubectl("patch", "svc", "web", "-p", JSON.stringify({ spec: { ports: [{ port: 80, targetPort: 9090 }] } }));
    const patched = JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout);
    expect(patched.spec.ports).toEqual([expect.objectContaining({ name: "http", port: 80, targetPort: 9090 })]);
    expect(patched.status.loadBalancer.ingress).toHaveLength(1);

    expect((await kubectl("delete", "svc", "web")).stdout.trim()).toBe('service "web" deleted');
    await expect(kubectl("get", "svc", "web")).rejects.toThrow(/NotFound|not found/);
  }, 60_000);

  it("Ingress and IngressClass: create -f admits the default class, get ingress -o json, patch --subresource=status", async () => {
    const manifest = join(sim.certs.dir, "ingress.yaml");
    await writeFile(
      manifest,
      [
        "apiVersion: networking.k8s.io/v1",
        "kind: IngressClass",
        "metadata:",
        "  name: nginx",
        "  annotations:",
        '    ingressclass.kubernetes.io/is-default-class: "true"',
        "spec:",
        "  controller: k8s.io/ingress-nginx",
        "---",
        "apiVersion: networking.k8s.io/v1",
        "kind: Ingress",
        "metadata:",
        "  name: shop",
        "  namespace: default",
        "spec:",
        "  tls:",
        "  - hosts: [shop.test]",
        "  rules:",
        "  - host: shop.test",
        "    http:",
        "      paths:",
        "      - path: /",
        "        pathType: Prefix",
        "        backend:",
        "          service:",
        "            name: web",
        "            port:",
        "              number: 80",
        "",
      ].join("\n"),
    );
    expect((await kubectl("create", "-f", manifest)).stdout.trim().split("\n")).toEqual([
      "ingressclass.networking.k8s.io/nginx created",
      "ingress.networking.k8s.io/shop created",
    ]);
    const shop = JSON.parse((await kubectl("get", "ingress", "shop", "-o", "json")).stdout);
    expect(shop).toMatchObject({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { generation: 1 },
      spec: { ingressClassName: "nginx", rules: [{ host: "shop.test" }], tls: [{ hosts: ["shop.test"] }] },
    });
    const patch = JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: "192.168.49.2" }] } } });
    expect(
      (await kubectl("patch", "ingress", "shop", "--subresource=status", "--type=merge", "-p", patch)).stdout.trim(),
    ).toBe("ingress.networking.k8s.io/shop patched");
    const list = JSON.parse((await kubectl("get", "ing", "-A", "-o", "json")).stdout);
    expect(list.items).toEqual([
      expect.objectContaining({ status: { loadBalancer: { ingress: [{ ip: "192.168.49.2" }] } } }),
    ]);
    const bad = join(sim.certs.dir, "bad-ingress.yaml");
    await writeFile(
      bad,
      "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: bad\nspec:\n  rules:\n  - host: 10.0.0.1\n",
    );
    await expect(kubectl("create", "-f", bad)).rejects.toThrow(/must be a DNS name, not an IP address/);
    expect((await kubectl("delete", "ingress", "shop")).stdout.trim()).toBe('ingress.networking.k8s.io "shop" deleted');
  }, 60_000);

  it("Gateway API CRDs installed while running: kubectl finds the kinds, creates a Gateway, reads its defaulted status", async () => {
    await expect(kubectl("get", "gateways")).rejects.toThrow(/the server doesn't have a resource type "gateways"/);
    sim.installCrds(GATEWAY_API_STANDARD);
    const manifest = join(sim.certs.dir, "gateway.yaml");
    await writeFile(
      manifest,
      [
        "apiVersion: gateway.networking.k8s.io/v1",
        "kind: Gateway",
        "metadata:",
        "  name: gw",
        "  namespace: default",
        "spec:",
        "  gatewayClassName: eg",
        "  listeners:",
        "  - name: http",
        "    port: 80",
        "    protocol: HTTP",
        "    hostname: '*.shop.test'",
        "",
      ].join("\n"),
    );
    expect((await kubectl("create", "-f", manifest)).stdout.trim()).toBe(
      "gateway.gateway.networking.k8s.io/gw created",
    );
    const gw = JSON.parse((await kubectl("get", "gateway", "gw", "-o", "json")).stdout);
    expect(gw.apiVersion).toBe("gateway.networking.k8s.io/v1");
    expect(gw.status.conditions).toEqual([
      expect.objectContaining({ type: "Accepted", status: "Unknown", reason: "Pending" }),
      expect.objectContaining({ type: "Programmed", status: "Unknown", reason: "Pending" }),
    ]);
  }, 60_000);

  it("returns kubectl-readable errors: 404 and 422", async () => {
    await expect(kubectl("get", "svc", "missing")).rejects.toThrow('services "missing" not found');
    const manifest = join(sim.certs.dir, "bad.yaml");
    await writeFile(
      manifest,
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 80\n",
    );
    await expect(kubectl("create", "-f", manifest)).rejects.toThrow(/is invalid/);
  });

  it("refuses a client certificate from another CA", async () => {
    const { request } = await import("node:https");
    const status = await new Promise<string>((resolve) => {
      const req = request(
        `${sim.url}/api/v1/services`,
        { ca: sim.certs.caCert, cert: sim.certs.strangerCert, key: sim.certs.strangerKey },
        (res) => resolve(String(res.statusCode)),
      );
      req.on("error", (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
      req.end();
    });
    expect(status).not.toBe("200");
  });
});
