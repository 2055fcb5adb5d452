import { type ChildProcess, execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StartedTunnel, runCli } from "../../test-support/cli-process.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { inPrivateEtc, privateEtc } from "../../test-support/private-etc.js";
import { ResolvedLab, resolvedUnavailableReason, startClusterDns } from "../../test-support/resolved-lab.js";

const run = promisify(execFile);
const skip = labUnavailableReason() ?? resolvedUnavailableReason();
if (skip) console.log(`skipped: route mode's names on a real systemd-resolved: ${skip}`);

type Names = { state: string; how?: string; error?: string; example?: string };
type State = { event: string; phase: string; names?: Names };

/**
 * Route mode's names against a real systemd-resolved (Debian's, on a private
 * bus, in the lab's host namespace), with dnsmasq in the node namespace at
 * kube-dns's address standing in for CoreDNS. Lookups go through the host's
 * real resolver path: getent (glibc, nss dns) → 127.0.0.53 → resolved → the
 * link to the node → the route → the cluster's DNS.
 */
describe.skipIf(skip !== null)("cluster names in route mode, on a real systemd-resolved", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let resolved: ResolvedLab;
  let dns: ChildProcess;
  let runtimeDir: string;
  let tunnel: StartedTunnel | null = null;

  const inHost = (file: string, ...args: string[]) => {
    const [cmd, argv] = inPrivateEtc("ip", ["netns", "exec", lab.host, file, ...args]);
    return run(cmd, argv).then(
      (r) => r.stdout.trim(),
      (e: { code?: number }) => `exit ${e.code}`,
    );
  };
  const env = () => fake.env({ DBUS_SYSTEM_BUS_ADDRESS: resolved.busAddress, MKTUNNEL_RUNTIME_DIR: runtimeDir });
  const start = (...args: string[]) =>
    (tunnel = StartedTunnel.start(lab.host, ["--mode", "route", "--no-lb", "--poll-interval", "300", ...args], env()));
  const names = (t: StartedTunnel, test: (n: Names) => boolean, what: string, from = 0) =>
    t.waitFor(
      (e) =>
        e.event === "state" &&
        t.events.indexOf(e) >= from &&
        (e as unknown as State).names !== undefined &&
        test((e as unknown as State).names!),
      15_000,
      what,
    ) as unknown as Promise<State>;

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    resolved = await ResolvedLab.start(lab);
    runtimeDir = await mkdtemp(join(tmpdir(), "mkt-run-"));
    // The host's resolver configuration, as resolved's stub mode sets it (in this test's private /etc).
    await writeFile(join(privateEtc(), "resolv.conf"), "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
    dns = await startClusterDns(lab, "10.96.0.10", { "web.default.svc.cluster.local": "10.96.0.20" });
    await lab.addServiceAddress("10.96.0.20");
    await lab.startTcpServer("10.96.0.20", 80, "web");
  });

  afterEach(async () => {
    tunnel?.child.kill("SIGKILL");
    tunnel = null;
    dns?.kill("SIGKILL");
    await resolved?.stop();
    await lab.destroy();
    await fake.destroy();
    if (runtimeDir) await rm(runtimeDir, { recursive: true, force: true });
  });

  it("getent and curl reach a Service by name; the settings sit on the link to the node; they come back after the link lost them; stop takes them back", async () => {
    const t = start();
    await t.ready();
    const on = await names(t, (n) => n.state === "on", "names on");
    expect(on.names).toMatchObject({
      how: "10.96.0.10 for ~cluster.local on link mkt0 (systemd-resolved)",
      example: "kubernetes.default.svc.cluster.local",
    });
    expect(await resolved.linkServers("mkt0")).toBe("10.96.0.10");
    expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toMatch(
      /^10\.96\.0\.20\s+web\.default\.svc\.cluster\.local$/,
    );
    expect(await inHost("curl", "-s", "--http0.9", "--max-time", "5", "http://web.default.svc.cluster.local/")).toBe(
      "web",
    );

    // The node goes away and comes back; meanwhile the link lost its settings, as a re-created link does.
    const from = t.events.length;
    await lab.setNodeLink(false);
    await fake.setHost("minikube", "Stopped");
    await t.waitFor(
      (e) => e.event === "state" && t.events.indexOf(e) >= from && (e as unknown as State).phase === "waiting-for-node",
      15_000,
      "waiting for the node",
    );
    await resolved.revertLink("mkt0");
    expect(await resolved.linkServers("mkt0")).toBe("");
    const back = t.events.length;
    await lab.setNodeLink(true);
    await fake.setHost("minikube", "Running");
    await t.waitFor(
      (e) => e.event === "state" && t.events.indexOf(e) >= back && (e as unknown as State).phase === "active",
      15_000,
      "active again",
    );
    await expect.poll(() => resolved.linkServers("mkt0"), { timeout: 10_000 }).toBe("10.96.0.10");
    expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toMatch(/^10\.96\.0\.20\s/);

    expect(await t.stop()).toBe(0);
    expect(await resolved.linkServers("mkt0")).toBe("");
    expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toBe("exit 2");
  });

  it("a link that already has DNS servers of someone else is left alone, and the reason is shown", async () => {
    const { stdout } = await run("ip", ["-n", lab.host, "-j", "link", "show", "dev", "mkt0"]);
    const ifindex = String((JSON.parse(stdout) as { ifindex: number }[])[0]!.ifindex);
    await resolved.busctl(
      "call",
      "org.freedesktop.resolve1",
      "/org/freedesktop/resolve1",
      "org.freedesktop.resolve1.Manager",
      "SetLinkDNS",
      "ia(iay)",
      ifindex,
      "1",
      "2",
      "4",
      "192",
      "168",
      "49",
      "53",
    );
    const t = start();
    await t.ready();
    const refused = await names(t, (n) => n.state === "error", "names refused");
    expect(refused.names?.error).toBe(
      "link mkt0 already has DNS servers (192.168.49.53) that are not ours; leaving its resolver settings alone",
    );
    expect(await t.stop()).toBe(0);
    expect(await resolved.linkServers("mkt0")).toBe("192.168.49.53");
  });

  it("kill -9: cleanup takes the link's settings back from the record the dead tunnel left", async () => {
    const t = start();
    await t.ready();
    await names(t, (n) => n.state === "on", "names on");
    t.child.kill("SIGKILL");
    await t.exited;
    expect(await resolved.linkServers("mkt0")).toBe("10.96.0.10");
    const cleanup = JSON.parse((await runCli(lab.host, ["cleanup", "--json"], env())).stdout);
    expect(cleanup.names).toEqual(["mkt0 (minikube)"]);
    expect(await resolved.linkServers("mkt0")).toBe("");
  });
});
