import { chown, lstat, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../test-support/eventually.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import { runCli, StartedTunnel } from "../../test-support/cli-process.js";
import { mentions, stopProcesses } from "../../test-support/processes.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: mktunnel on the real kernel: ${skip}`);

type RouteJson = { cidr: string; state: string; conflict?: { existing: { destination: string; interface: string } } };
type StateEvent = { profile: string; phase: string; routes: RouteJson[]; probe: { ok: boolean } | null };

describe.skipIf(skip !== null)("mktunnel in network namespaces, with a fake minikube", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let tunnel: StartedTunnel | null = null;
  const started: StartedTunnel[] = [];

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    await lab.addServiceAddress("10.96.0.1");
    await lab.startTcpServer("10.96.0.1", 443);
  });

  afterEach(async () => {
    for (const t of started) t.child.kill("SIGKILL");
    started.length = 0;
    tunnel = null;
    await lab.destroy();
    await fake.destroy();
  });

  const start = (...args: string[]) => {
    const t = StartedTunnel.start(lab.host, ["--poll-interval", "200", ...args], fake.env());
    started.push(t);
    return t;
  };
  const cli = (...args: string[]) => runCli(lab.host, args, fake.env());
  const activeState = (t: StartedTunnel, cidr = "10.96.0.0/12") =>
    t.waitFor(
      (e) =>
        e.event === "state" && (e as unknown as StateEvent).routes.some((r) => r.cidr === cidr && r.state === "active"),
      15_000,
      `${cidr} active`,
    );

  it("start makes 10.96.0.1 in the node reachable from the host; SIGTERM removes route and entry and exits 0", async () => {
    expect(await lab.connectFromHost("10.96.0.1", 443)).not.toBe("ok");
    tunnel = start();
    await tunnel.ready();
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2 dev mkt0");
    expect(await lab.connectFromHost("10.96.0.1", 443)).toBe("ok");
    const registry = JSON.parse(await readFile(fake.registryPath, "utf8"));
    expect(registry).toEqual([
      expect.objectContaining({
        MachineName: "minikube",
        Pid: tunnel.child.pid,
        Route: expect.objectContaining({ Gateway: "192.168.49.2", DestCIDR: { IP: "10.96.0.0", Mask: "//AAAA==" } }),
      }),
    ]);
    const state = (await tunnel.waitFor(
      (e) => e.event === "state" && (e as unknown as StateEvent).probe !== null,
    )) as unknown as StateEvent;
    expect(state.probe?.ok).toBe(true);

    const status = await cli("status", "--json");
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.profiles[0].routes).toEqual([
      expect.objectContaining({ cidr: "10.96.0.0/12", state: "active", kind: "service" }),
    ]);
    expect(report.profiles[0].probe.ok).toBe(true);
    expect(report.tunnels[0]).toMatchObject({ profile: "minikube", alive: true, writer: "minikube-tunnel" });

    expect(await tunnel.stop("SIGTERM")).toBe(0);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(JSON.parse(await readFile(fake.registryPath, "utf8"))).toEqual([]);
    expect(await lab.connectFromHost("10.96.0.1", 443)).not.toBe("ok");
  });

  it("SIGINT stops cleanly too", async () => {
    tunnel = start();
    await tunnel.ready();
    expect(await tunnel.stop("SIGINT")).toBe(0);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });

  it("a planted overlapping route is a conflict: nothing added, nothing removed, reported in status --json, and start keeps running", async () => {
    await lab.addHostRoute("10.96.0.0/16", "dev", "mkt0");
    const before = await lab.hostRoutes();
    tunnel = start();
    await tunnel.ready();
    await tunnel.waitFor((e) => e.event === "log" && String(e.message).startsWith("conflict:"));
    expect(await lab.hostRoutes()).toBe(before);
    const report = JSON.parse((await cli("status", "--json")).stdout);
    expect(report.conflicts).toEqual([
      expect.objectContaining({
        requested: "10.96.0.0/12",
        existing: { destination: "10.96.0.0/16", gateway: null, interface: "mkt0" },
      }),
    ]);
    expect(report.profiles[0].routes[0].state).toBe("conflict");
    expect(tunnel.child.exitCode).toBeNull();
    expect(await tunnel.stop()).toBe(0);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/16 dev mkt0");
  });

  it("kill -9 of start leaves a stale tunnel that cleanup removes, along with a minikube-written entry", async () => {
    tunnel = start();
    await tunnel.ready();
    tunnel.child.kill("SIGKILL");
    await tunnel.exited;
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    // minikube's own registry entry, exactly as it writes it, for a tunnel that also died.
    await lab.addHostRoute("10.244.0.0/24", "via", "192.168.49.2");
    const entries = JSON.parse(await readFile(fake.registryPath, "utf8"));
    entries.push(
      JSON.parse(
        `{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.244.0.0","Mask":"////AA=="},"ClusterDomain":"cluster.local","ClusterDNSIP":"10.96.0.10"},"MachineName":"minikube","Pid":${2 ** 22 + 7}}`,
      ),
    );
    await writeFile(fake.registryPath, JSON.stringify(entries));
    const status = JSON.parse((await cli("status", "--json", "--no-probe")).stdout);
    expect(status.tunnels.map((t: { alive: boolean }) => t.alive)).toEqual([false, false]);

    const result = await cli("cleanup", "--json");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.removed.map((r: { destination: string; writer: string }) => `${r.destination} ${r.writer}`)).toEqual([
      "10.96.0.0/12 minikube-tunnel",
      "10.244.0.0/24 minikube",
    ]);
    expect(await lab.hostRoutes()).not.toMatch(/10\.96\.0\.0|10\.244\.0\.0/);
    expect(JSON.parse(await readFile(fake.registryPath, "utf8"))).toEqual([]);
  });

  it("follows the node: stopped → routes removed and waiting; running again → routes back; IP change → routes move; Unknown → kept", async () => {
    await lab.addNodeAddress("192.168.49.3");
    tunnel = start();
    await tunnel.ready();
    await activeState(tunnel);

    // A healthy tunnel only knocks on the node; minikube is asked once the node stops answering.
    await lab.setNodeLink(false);
    await fake.setHost("minikube", "Unknown");
    await tunnel.nextState((e) => (e as unknown as StateEvent).phase === "retrying");
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");

    await fake.setHost("minikube", "Stopped");
    await tunnel.nextState((e) => (e as unknown as StateEvent).phase === "waiting-for-node");
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(JSON.parse(await readFile(fake.registryPath, "utf8"))).toEqual([]);
    expect(tunnel.child.exitCode).toBeNull();

    await lab.setNodeLink(true);
    await fake.setHost("minikube", "Running");
    await tunnel.nextState((e) => (e as unknown as StateEvent).phase === "active");
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");

    await lab.removeNodeAddress("192.168.49.2");
    await fake.setIp("minikube", "192.168.49.3");
    await tunnel.waitFor(
      (e) => e.event === "log" && String(e.message).includes("changed from 192.168.49.2 to 192.168.49.3"),
    );
    await tunnel.nextState((e) => (e as unknown as StateEvent).phase === "active");
    const routes = await lab.hostRoutes();
    expect(routes).toContain("10.96.0.0/12 via 192.168.49.3");
    expect(routes).not.toContain("via 192.168.49.2");
    expect(
      JSON.parse(await readFile(fake.registryPath, "utf8")).map((e: { Route: { Gateway: string } }) => e.Route.Gateway),
    ).toEqual(["192.168.49.3"]);
    expect(await tunnel.stop()).toBe(0);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });

  it("two profiles at once: the overlapping service CIDR of the second is a conflict naming the first", async () => {
    await lab.addNodeAddress("192.168.49.3");
    await fake.addProfile({ name: "second", nodeIp: "192.168.49.3" });
    await fake.addProfile({ name: "third", nodeIp: "192.168.49.3", serviceCidr: "10.112.0.0/12" });
    tunnel = start("--profile", "minikube", "--profile", "second", "--profile", "third");
    await tunnel.ready();
    await tunnel.waitFor(
      (e) =>
        e.event === "log" && e.profile === "second" && String(e.message).includes('registered to profile "minikube"'),
    );
    const routes = await lab.hostRoutes();
    expect(routes).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(routes).toContain("10.112.0.0/12 via 192.168.49.3");
    expect(await tunnel.stop()).toBe(0);
    expect(await lab.hostRoutes()).not.toMatch(/10\.(96|112)\.0\.0/);
  });

  it("--helper: routes go through the privileged helper, and a kill -9 of mktunnel makes the helper remove them", async () => {
    const { mkdtemp, chmod, rm } = await import("node:fs/promises");
    const runtimeDir = await mkdtemp(join(tmpdir(), "mkt-run-"));
    await chmod(runtimeDir, 0o755);
    try {
      tunnel = StartedTunnel.start(
        lab.host,
        ["--poll-interval", "200", "--helper"],
        fake.env({ MKTUNNEL_RUNTIME_DIR: runtimeDir }),
      );
      started.push(tunnel);
      await tunnel.ready();
      expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
      const [entry] = JSON.parse(await readFile(fake.registryPath, "utf8"));
      expect(entry.Pid).toBe(tunnel.child.pid); // the tunnel's own pid, which its user (and minikube) can signal, not the helper's
      expect(await readFile(`${fake.miniPath}/logs/mktunnel-helper.log`, "utf8")).toContain(
        "add 10.96.0.0/12 via 192.168.49.2 (minikube)",
      );
      tunnel.child.kill("SIGKILL");
      await eventually(async () => !(await lab.hostRoutes()).includes("10.96.0.0/12"), {
        timeoutMs: 2000,
        everyMs: 20,
        what: "the helper to remove the route of the killed mktunnel",
      });
    } finally {
      // The helper serves from runtimeDir; if the test failed before its client went, it still runs.
      await stopProcesses(mentions(runtimeDir));
      await rm(runtimeDir, { recursive: true, force: true });
    }
  });

  it("routes the LoadBalancer pool given with --lb-pool", async () => {
    tunnel = start("--lb-mode", "pool", "--lb-pool", "172.30.0.0/24");
    await tunnel.ready();
    await activeState(tunnel, "172.30.0.0/24");
    expect(await lab.hostRoutes()).toContain("172.30.0.0/24 via 192.168.49.2");
    expect(await tunnel.stop()).toBe(0);
    expect(await lab.hostRoutes()).not.toContain("172.30.0.0/24");
  });

  it("as root, with MINIPATH owned by a user and tunnels.json a link to a root-owned 0600 file: start refuses, names the path, adds no route, and the target keeps its bytes, owner and mode", async () => {
    const vault = join(fake.root, "vault");
    await mkdir(vault, { mode: 0o700 });
    const target = join(vault, "shadow");
    await writeFile(target, "[]", { mode: 0o600 });
    await chown(fake.miniPath, 4242, 4242);
    await symlink(target, fake.registryPath);
    tunnel = start("--no-lb");
    const code = await tunnel.exited;
    expect(code).not.toBe(0);
    expect(tunnel.stderr + JSON.stringify(tunnel.events)).toContain(
      `refusing to use ${fake.registryPath}: it is a symbolic link`,
    );
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    const info = await stat(target);
    expect([await readFile(target, "utf8"), info.uid, info.mode & 0o777]).toEqual(["[]", 0, 0o600]);
    expect((await lstat(fake.registryPath)).isSymbolicLink()).toBe(true);
    await rm(vault, { recursive: true });
  });

  it("route mode on a docker node that does not answer through its routes: start and status say so and suggest forward mode", async () => {
    await fake.addProfile({ name: "desktop", nodeIp: lab.nodeIp, serviceCidr: "10.100.0.0/16" });
    tunnel = start("--profile", "desktop", "--mode", "route", "--no-lb");
    await tunnel.ready();
    const hinted = (await tunnel.waitFor(
      (e) => e.event === "state" && (e as { suggestion?: string }).suggestion === "forward-mode",
      15_000,
      "the forward-mode suggestion",
    )) as { message?: string };
    expect(hinted.message).toMatch(
      /^routes are in, but the cluster does not answer through them; a docker or podman node/,
    );
    const status = await cli("status", "--profile", "desktop", "--mode", "route");
    expect(status.stdout).toContain("try `mktunnel start --mode forward`");
    expect(
      JSON.parse((await cli("status", "--json", "--profile", "desktop", "--mode", "route")).stdout).profiles[0]
        .suggestion,
    ).toBe("forward-mode");
    expect(await tunnel.stop()).toBe(0);
  });
});
