import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bundled } from "../../test-support/bundles.js";
import { StartedTunnel, runCli } from "../../test-support/cli-process.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { SshNode } from "../../test-support/ssh-node.js";
import { inPrivateEtc, privateEtc } from "../../test-support/private-etc.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: forward mode in network namespaces: ${skip}`);

type Forward = { namespace: string; name: string; address: string; port: number; protocol: string; state: string };
type State = {
  event: string;
  mode: string;
  phase: string;
  routes: unknown[];
  link?: { state: string; error?: string };
  forwards?: Forward[];
};

const service = (name: string, clusterIP: string, ports: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  type: LoadBalancer\n  clusterIP: ${clusterIP}\n  selector: {app: ${name}}\n  ports:\n${ports}`;

/**
 * A node the host cannot route to, as the docker driver makes one on macOS,
 * Windows and WSL2: sshd in the node namespace, its port 22 published on
 * 127.0.0.1 of the host namespace by socat (as Docker publishes it), no
 * route to the service CIDR, a fake docker that says where the port is and a
 * fake minikube that prints the node's host key.
 */
describe.skipIf(skip !== null).each(["openssh", "ssh2"] as const)(
  "mktunnel --mode forward over %s, against sshd in a lab node",
  (client) => {
    let lab: NetnsLab;
    let fake: FakeMinikube;
    let node: SshNode;
    let sim: ChildProcess;
    let kubeconfig: string;
    let tunnel: StartedTunnel | null = null;

    const kubectl = (...args: string[]) =>
      run("ip", ["netns", "exec", lab.host, "kubectl", "--kubeconfig", kubeconfig, ...args]);
    const state = (t: StartedTunnel, test: (s: State) => boolean, what: string, timeoutMs = 15_000) =>
      t.waitFor(
        (e) => e.event === "state" && test(e as unknown as State),
        timeoutMs,
        what,
      ) as unknown as Promise<State>;
    /** A state at or after event index `from` (taken before the action), so a quick answer is never missed. */
    const stateSince = (
      t: StartedTunnel,
      from: number,
      test: (s: State) => boolean,
      what: string,
      timeoutMs = 15_000,
    ) =>
      t.waitFor(
        (e) => e.event === "state" && t.events.indexOf(e) >= from && test(e as unknown as State),
        timeoutMs,
        what,
      ) as unknown as Promise<State>;
    const listening = (s: State) => (s.forwards ?? []).filter((f) => f.state === "listening");

    beforeEach(async () => {
      lab = await NetnsLab.create();
      fake = await FakeMinikube.create();
      await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
      node = await SshNode.start(lab, join(fake.miniPath, "machines", "minikube", "id_rsa"));
      await fake.setContainer("minikube", { running: true, sshPort: node.publishedPort });
      await fake.setHostKeyFiles("minikube", await node.hostPublicKeys());
      sim = spawn("ip", ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      kubeconfig = await new Promise<string>((resolve) =>
        createInterface({ input: sim.stdout! }).once("line", resolve),
      );
      const manifests = join(fake.root, "services.yaml");
      await writeFile(
        manifests,
        [
          service("web", "10.96.0.20", "  - {name: http, port: 80}\n"),
          service("api", "10.96.0.21", "  - {name: http, port: 80}\n"),
          service("admin", "10.96.0.22", "  - {name: http, port: 8080}\n  - {name: dns, port: 53, protocol: UDP}\n"),
        ].join("---\n"),
      );
      await kubectl("create", "-f", manifests);
      // kube-proxy's part: each ClusterIP answers on the node, saying which Service it is.
      for (const [ip, port, name] of [
        ["10.96.0.20", 80, "web"],
        ["10.96.0.21", 80, "api"],
        ["10.96.0.22", 8080, "admin"],
      ] as const) {
        await lab.addServiceAddress(ip);
        await lab.startTcpServer(ip, port, name);
      }
      await lab.addServiceAddress("10.96.0.1");
      await lab.startTcpServer("10.96.0.1", 443);
    });

    afterEach(async () => {
      tunnel?.child.kill("SIGKILL");
      tunnel = null;
      sim.kill("SIGTERM");
      await node.stop();
      await lab.destroy();
      await fake.destroy();
    });

    const start = (...args: string[]) =>
      (tunnel = StartedTunnel.start(
        lab.host,
        ["--mode", "forward", ...args],
        fake.env({ KUBECONFIG: kubeconfig, MKTUNNEL_SSH_CLIENT: client }),
      ));
    const ingressOf = async (name: string) =>
      JSON.parse((await kubectl("get", "svc", name, "-o", "json")).stdout).status.loadBalancer.ingress ?? [];

    it("adds no route; two Services on port 80 and one on 8080 get distinct loopback IPs (ipMode Proxy), each answering as itself; UDP is reported; stop closes and releases", async () => {
      const t = start();
      await t.ready();
      const up = await state(t, (s) => s.link?.state === "up" && listening(s).length === 3, "three listeners");
      expect(up.mode).toBe("forward");
      // OpenSSH's master carries the bytes, or ssh2 in this process.
      expect(t.events.some((e) => e.event === "log" && String(e.message).includes("is up (OpenSSH)"))).toBe(
        client === "openssh",
      );
      expect(up.routes).toEqual([]);
      expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");

      const [web, api, admin] = [await ingressOf("web"), await ingressOf("api"), await ingressOf("admin")];
      for (const ingress of [web, api, admin])
        expect(ingress).toEqual([
          { ip: expect.stringMatching(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./), ipMode: "Proxy" },
        ]);
      expect(new Set([web[0].ip, api[0].ip, admin[0].ip]).size).toBe(3);

      expect(await lab.connectFromHost(web[0].ip, 80)).toBe("web");
      expect(await lab.connectFromHost(api[0].ip, 80)).toBe("api");
      expect(await lab.connectFromHost(admin[0].ip, 8080)).toBe("admin");
      expect(up.forwards).toContainEqual(
        expect.objectContaining({ name: "admin", port: 53, protocol: "UDP", state: "udp-not-forwarded" }),
      );

      const status = JSON.parse(
        (await runCli(lab.host, ["status", "--json", "--mode", "forward"], fake.env({ KUBECONFIG: kubeconfig })))
          .stdout,
      );
      expect(status.profiles[0]).toMatchObject({
        mode: "forward",
        routes: [],
        link: { state: "up", endpoint: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
      });
      expect(status.profiles[0].forwards).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: "web", address: web[0].ip, port: 80, state: "listening" }),
          expect.objectContaining({ name: "admin", port: 53, state: "udp-not-forwarded" }),
        ]),
      );

      expect(await t.stop()).toBe(0);
      expect(await lab.connectFromHost(web[0].ip, 80)).toBe("ECONNREFUSED");
      for (const name of ["web", "api", "admin"]) expect(await ingressOf(name)).toEqual([]);
    });

    it("the node side drops the link: forwards work again within 15 s", async () => {
      const t = start();
      await t.ready();
      await state(t, (s) => listening(s).length === 3, "listeners");
      const web = (await ingressOf("web"))[0].ip;
      expect(await lab.connectFromHost(web, 80)).toBe("web");
      const dropped = Date.now();
      const from = t.events.length;
      await node.killSessions();
      const down = await stateSince(t, from, (s) => s.link?.state !== "up", "link down", 10_000);
      await stateSince(t, t.events.indexOf(down as never), (s) => s.link?.state === "up", "link up again", 15_000);
      expect(await lab.connectFromHost(web, 80)).toBe("web");
      expect(Date.now() - dropped).toBeLessThan(15_000);
    });

    it("the node comes back on a new SSH port (as Docker publishes after a restart): the link follows it", async () => {
      const t = start();
      await t.ready();
      await state(t, (s) => listening(s).length === 3, "listeners");
      await fake.setContainer("minikube", { running: false });
      node.unpublish();
      const from = t.events.length;
      await node.killSessions();
      const waiting = await stateSince(t, from, (s) => s.phase === "waiting-for-node", "waiting for the node", 15_000);
      await node.publish(41022);
      await fake.setContainer("minikube", { running: true, sshPort: 41022 });
      await fake.setHostKeyFiles("minikube", await node.hostPublicKeys());
      const back = await stateSince(
        t,
        t.events.indexOf(waiting as never),
        (s) => s.link?.state === "up",
        "link up on the new port",
        15_000,
      );
      expect(back.phase).toBe("active");
      expect(await lab.connectFromHost((await ingressOf("web"))[0].ip, 80)).toBe("web");
    });

    // ssh2's listeners are ours and stay bound while the link is down; OpenSSH's go with its master.
    it.runIf(client === "openssh")(
      "a port another program takes while the link is down: the link comes back, and the other Services answer",
      async () => {
        const t = start();
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "listeners");
        const [web, api] = [(await ingressOf("web"))[0].ip, (await ingressOf("api"))[0].ip];
        await fake.setContainer("minikube", { running: false });
        node.unpublish();
        const from = t.events.length;
        await node.killSessions();
        const waiting = await stateSince(
          t,
          from,
          (s) => s.phase === "waiting-for-node",
          "waiting for the node",
          15_000,
        );
        await expect.poll(() => lab.connectFromHost(web, 80), { timeout: 5000 }).toBe("ECONNREFUSED");
        await lab.startTcpServer(web, 80, "another program", "host");
        await node.publish(41023);
        await fake.setContainer("minikube", { running: true, sshPort: 41023 });
        await fake.setHostKeyFiles("minikube", await node.hostPublicKeys());
        await stateSince(t, t.events.indexOf(waiting as never), (s) => s.link?.state === "up", "link up again", 15_000);
        expect(await lab.connectFromHost(api, 80)).toBe("api");
        expect(await lab.connectFromHost(web, 80)).toBe("another program");
        expect(
          t.events.some(
            (e) => e.event === "log" && String(e.message).startsWith(`could not listen again on ${web}:80`),
          ),
        ).toBe(true);
      },
    );

    it("a node presenting another host key is refused and reported, and nothing forwards", async () => {
      await node.changeHostKeys();
      // The node's key files still hold the old key: whoever answers on the port now is not the node we know.
      const t = start();
      const refused = await state(t, (s) => s.link?.state === "refused", "refused link");
      expect(refused.link?.error).toMatch(/^host key mismatch: 127\.0\.0\.1:\d+ presented SHA256:/);
      expect(t.stderr + JSON.stringify(t.events)).toContain("host key mismatch");
      // From another shell, status reads the link's state from the note the tunnel keeps in its lock.
      const fromOutside = async () =>
        JSON.parse(
          (await runCli(lab.host, ["status", "--json", "--mode", "forward"], fake.env({ KUBECONFIG: kubeconfig })))
            .stdout,
        ).profiles[0].link;
      await expect
        .poll(fromOutside, { timeout: 10_000 })
        .toMatchObject({ state: "refused", error: expect.stringMatching(/^host key mismatch: /) });
      await t.ready();
      const web = await state(t, (s) => (s.forwards ?? []).some((f) => f.name === "web"), "web's forward");
      const address = web.forwards!.find((f) => f.name === "web")!.address;
      expect(await lab.connectFromHost(address, 80)).not.toBe("web");
    });

    it("the host key comes from the node's own files through docker exec, never from ssh-keyscan of the port (minikube ssh-host), which pins whoever answers there", async () => {
      // An impostor's keys scanned from the published port, as minikube ssh-host would pass them on, are not used.
      await fake.setSshHost(
        "minikube",
        "[127.0.0.1]:32772 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG7sgyXUHEpF0I+dp9kAA8iGqHvyYJ1RPb1FcJbZYr4l\n",
      );
      const t = start();
      await t.ready();
      await state(t, (s) => s.link?.state === "up" && listening(s).length === 3, "link up");
      expect(await lab.connectFromHost((await ingressOf("api"))[0].ip, 80)).toBe("api");
    });

    it("follows Services: a new one gets its own address and listener; one that stops being a LoadBalancer loses both", async () => {
      const t = start();
      await t.ready();
      await state(t, (s) => listening(s).length === 3, "three listeners");
      const manifest = join(fake.root, "late.yaml");
      await writeFile(manifest, service("late", "10.96.0.23", "  - {name: http, port: 80}\n"));
      await lab.addServiceAddress("10.96.0.23");
      await lab.startTcpServer("10.96.0.23", 80, "late");
      const before = t.events.length;
      await kubectl("create", "-f", manifest);
      const withLate = await stateSince(
        t,
        before,
        (s) => listening(s).some((f) => f.name === "late"),
        "late's listener",
      );
      const late = withLate.forwards!.find((f) => f.name === "late")!;
      expect(await lab.connectFromHost(late.address, 80)).toBe("late");
      const api = up(withLate, "api");
      const patched = t.events.length;
      await kubectl("patch", "svc", "api", "-p", '{"spec":{"type":"ClusterIP"}}');
      await stateSince(t, patched, (s) => !(s.forwards ?? []).some((f) => f.name === "api"), "api's listener closed");
      expect(await lab.connectFromHost(api, 80)).toBe("ECONNREFUSED");
    });

    it("kill -9 leaves no listener; cleanup, seeing no tunnel lock held, takes the external IPs back", async () => {
      const t = start();
      await t.ready();
      await state(t, (s) => listening(s).length === 3, "three listeners");
      const web = (await ingressOf("web"))[0].ip;
      // While it runs, cleanup from another shell leaves its IPs alone: the tunnel lock says it is alive.
      const during = JSON.parse(
        (await runCli(lab.host, ["cleanup", "--json"], fake.env({ KUBECONFIG: kubeconfig }))).stdout,
      );
      expect(during.ingress).toEqual([
        expect.objectContaining({ profile: "minikube", released: [], skipped: "a tunnel for it is running" }),
      ]);
      t.child.kill("SIGKILL");
      await t.exited;
      // OpenSSH's master sees its stdin close with the dead process, and exits with its listeners.
      await expect.poll(() => lab.connectFromHost(web, 80), { timeout: 5000 }).toBe("ECONNREFUSED");
      const after = JSON.parse(
        (await runCli(lab.host, ["cleanup", "--json"], fake.env({ KUBECONFIG: kubeconfig }))).stdout,
      );
      expect(after.ingress).toEqual([
        { profile: "minikube", released: ["default/admin", "default/api", "default/web"], failures: [] },
      ]);
      for (const name of ["web", "api", "admin"]) expect(await ingressOf(name)).toEqual([]);
    });

    describe("cluster names through the hosts file (a private /etc, as the real resolver reads it)", () => {
      const inHost = (file: string, ...args: string[]) => {
        const [cmd, argv] = inPrivateEtc("ip", ["netns", "exec", lab.host, file, ...args]);
        return run(cmd, argv).then(
          (r) => r.stdout.trim(),
          (e: { stdout?: string; code?: number }) => `exit ${e.code}: ${e.stdout ?? ""}`.trim(),
        );
      };
      const hostsPath = () => join(privateEtc(), "hosts");

      it("getent and curl reach each Service by name; the lines already there stay byte for byte; stop removes the block", async () => {
        const before = await readFile(hostsPath(), "utf8");
        const t = start();
        await t.ready();
        const on = await state(
          t,
          (s) =>
            listening(s).length === 3 &&
            (s as { names?: { state: string; example?: string } }).names?.example === "admin.default.svc.cluster.local",
          "names on for all three",
        );
        expect((on as { names?: object }).names).toMatchObject({
          state: "on",
          domain: "cluster.local",
          how: "hosts file",
          example: "admin.default.svc.cluster.local",
        });
        const web = (await ingressOf("web"))[0].ip;
        expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toMatch(
          new RegExp(`^${web.replace(/\./g, "\\.")}\\s+web\\.default\\.svc\\.cluster\\.local web\\.default$`),
        );
        expect(
          await inHost("curl", "-s", "--http0.9", "--max-time", "5", "http://web.default.svc.cluster.local/"),
        ).toBe("web");
        expect(await inHost("curl", "-s", "--http0.9", "--max-time", "5", "http://api.default/")).toBe("api");
        const during = await readFile(hostsPath(), "utf8");
        expect(during.startsWith(before)).toBe(true);
        expect(during.slice(before.length)).toMatch(
          /^# BEGIN minikube-tunnel profile=minikube pid=\d+ started=\S+\n(127\.\S+ \S+\.default\.svc\.cluster\.local \S+\.default\n){3}# END minikube-tunnel profile=minikube\n$/,
        );
        expect(await t.stop()).toBe(0);
        expect(await readFile(hostsPath(), "utf8")).toBe(before);
        expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toBe("exit 2:");
      });

      it("after kill -9, cleanup removes the block the dead tunnel left", async () => {
        const before = await readFile(hostsPath(), "utf8");
        const t = start();
        await t.ready();
        await state(
          t,
          (s) => (s as { names?: { state: string; example?: string } }).names?.example !== undefined,
          "names on",
        );
        t.child.kill("SIGKILL");
        await t.exited;
        expect(await readFile(hostsPath(), "utf8")).not.toBe(before);
        const cleanup = JSON.parse(
          (await runCli(lab.host, ["cleanup", "--json"], fake.env({ KUBECONFIG: kubeconfig }))).stdout,
        );
        expect(cleanup.names).toEqual(["hosts block of minikube"]);
        expect(await readFile(hostsPath(), "utf8")).toBe(before);
      });

      it("--no-dns leaves the hosts file alone", async () => {
        const before = await readFile(hostsPath(), "utf8");
        const t = start("--no-dns");
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "listeners");
        expect(await readFile(hostsPath(), "utf8")).toBe(before);
        expect(await t.stop()).toBe(0);
      });
    });
  },
);

function up(s: State, name: string): string {
  return s.forwards!.find((f) => f.name === name)!.address;
}
