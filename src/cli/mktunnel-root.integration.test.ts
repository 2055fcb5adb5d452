import { execFile } from "node:child_process";
import { chmod, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, StartedTunnel } from "../../test-support/cli-process.js";
import { eventually } from "../../test-support/eventually.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { TestUser } from "../../test-support/helper-lab.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: sudo mktunnel for a user's MINIPATH: ${skip}`);

/**
 * minikube's liveness rule for an entry (kill(pid, 0); any error, EPERM included, is dead), run as the user minikube
 * runs as.
 */
async function aliveToMinikube(user: TestUser, pid: number): Promise<boolean> {
  const [file, args] = user.as(
    process.execPath,
    "-e",
    `try { process.kill(${pid}, 0); console.log("alive"); } catch { console.log("dead"); }`,
  );
  return (await run(file, args)).stdout.trim() === "alive";
}

/**
 * `sudo mktunnel start` with the user's MINIPATH: root writes the registry,
 * but the pid it records must be one the user's minikube can signal, or
 * `minikube tunnel` (which cleans up before it starts) would take our live
 * routes for a dead tunnel's and remove them.
 */
describe.skipIf(skip !== null)("a tunnel run as root for a user's MINIPATH", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let user: TestUser;
  let tunnel: StartedTunnel | null = null;

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    user = await TestUser.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    await run("chown", ["-R", `${user.uid}:${user.gid}`, fake.miniPath]);
    // Root runs minikube as the MINIPATH owner (owner-runner.ts): the user reaches the fake's program and its state, as
    // they would /usr/local/bin/minikube.
    await chmod(fake.root, 0o755);
    await run("chown", ["-R", `${user.uid}:${user.gid}`, fake.stateDir]);
  });

  afterEach(async () => {
    tunnel?.child.kill("SIGKILL");
    tunnel = null;
    await lab.destroy();
    await user.destroy();
    await fake.destroy();
  });

  it("records a pid of the MINIPATH owner that lives as long as the tunnel, even through kill -9; files stay the user's", async () => {
    tunnel = StartedTunnel.start(lab.host, ["--poll-interval", "200", "--no-lb", "--no-dns"], fake.env());
    await tunnel.ready();
    const [entry] = JSON.parse(await readFile(fake.registryPath, "utf8"));
    expect(entry.Pid).not.toBe(tunnel.child.pid);
    expect(Number((await run("ps", ["-o", "uid=", "-p", String(entry.Pid)])).stdout.trim())).toBe(user.uid);
    expect(await aliveToMinikube(user, entry.Pid)).toBe(true);
    // Root's own pid is what minikube would have seen before: EPERM, so "dead".
    expect(await aliveToMinikube(user, tunnel.child.pid!)).toBe(false);
    const { stdout } = await run("stat", ["-c", "%u", fake.registryPath, `${fake.registryPath}.lock`]);
    expect(stdout.trim().split("\n")).toEqual([String(user.uid), String(user.uid)]);

    tunnel.child.kill("SIGKILL");
    await eventually(async () => !(await aliveToMinikube(user, entry.Pid)), {
      what: "the recorded pid to die with the tunnel",
    });
    const cleanup = await runCli(lab.host, ["cleanup", "--json"], fake.env());
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout).removed).toEqual([
      expect.objectContaining({ destination: "10.96.0.0/12", routeRemoved: true }),
    ]);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });

  it("a public LoadBalancer pool is refused route by route, the rest still goes in; root allows it with --allow-cidr, a helper's user cannot", async () => {
    const routeStates = (t: StartedTunnel) =>
      t.waitFor(
        (e) => e.event === "state" && (e as { routes: { state: string }[] }).routes.every((r) => r.state !== "pending"),
        15_000,
        "routes settled",
      );
    tunnel = StartedTunnel.start(
      lab.host,
      ["--poll-interval", "200", "--no-dns", "--lb-mode", "pool", "--lb-pool", "203.0.113.0/24"],
      fake.env(),
    );
    await tunnel.ready();
    const refused = (await routeStates(tunnel)) as { routes: { cidr: string; state: string; error?: string }[] };
    expect(refused.routes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ cidr: "10.96.0.0/12", state: "active" }),
        expect.objectContaining({
          cidr: "203.0.113.0/24",
          state: "error",
          error: expect.stringMatching(/^refused: 203\.0\.113\.0\/24 is not a private network/),
        }),
      ]),
    );
    expect(await tunnel.stop("SIGTERM")).toBe(0);
    tunnel = StartedTunnel.start(
      lab.host,
      [
        "--poll-interval",
        "200",
        "--no-dns",
        "--lb-mode",
        "pool",
        "--lb-pool",
        "203.0.113.0/24",
        "--allow-cidr",
        "203.0.113.0/24",
      ],
      fake.env(),
    );
    await tunnel.ready();
    await tunnel.waitFor(
      (e) =>
        e.event === "state" &&
        (e as { routes: { cidr: string; state: string }[] }).routes.some(
          (r) => r.cidr === "203.0.113.0/24" && r.state === "active",
        ),
      15_000,
      "the allowed pool routed",
    );
    expect(await lab.hostRoutes()).toContain("203.0.113.0/24 via 192.168.49.2");
    expect(await tunnel.stop("SIGTERM")).toBe(0);
    const asHelper = await runCli(lab.host, ["start", "--helper", "--allow-cidr", "203.0.113.0/24"], fake.env());
    expect(asHelper.code).toBe(2);
    expect(asHelper.stderr).toMatch(/only root gives them/);
  });

  it("forward mode is not run as root for the user: its SSH client would log in where the user's container engine says", async () => {
    const forward = await runCli(lab.host, ["start", "--mode", "forward", "--no-dns"], fake.env());
    expect(forward.code).toBe(2);
    expect(forward.stderr).toMatch(
      /forward mode is not run as root for another user's MINIPATH \(uid \d+\); run mktunnel as that user/,
    );
  });
});
