import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, StartedTunnel } from "../../test-support/cli-process.js";
import { eventually } from "../../test-support/eventually.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: mktunnel beside minikube tunnel: ${skip}`);

type StateEvent = { phase: string; message?: string; routes: { cidr: string; state: string }[] };

/**
 * `minikube tunnel` holds an exclusive flock on MINIPATH/profiles/<p>/.tunnel_lock
 * while it runs (gofrs/flock, the same flock(2)). util-linux's flock(1) takes
 * exactly that lock, so it stands in for a running `minikube tunnel` here.
 */
describe.skipIf(skip !== null)("beside a running `minikube tunnel` (its tunnel lock)", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let holder: ChildProcess | null = null;
  const started: StartedTunnel[] = [];

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
  });
  afterEach(async () => {
    holder?.kill("SIGKILL");
    for (const t of started) t.child.kill("SIGKILL");
    started.length = 0;
    await lab.destroy();
    await fake.destroy();
  });

  const lockFile = () => join(fake.miniPath, "profiles", "minikube", ".tunnel_lock");
  const start = () => {
    const t = StartedTunnel.start(lab.host, ["--poll-interval", "200", "--no-lb"], fake.env());
    started.push(t);
    return t;
  };

  it("while minikube tunnel holds the profile: says so in start and status, adds no route; takes over once it exits", async () => {
    // --no-fork: the holder is the sleeping process itself, so killing it frees the lock as minikube exiting would.
    holder = spawn("flock", ["--exclusive", "--no-fork", lockFile(), "sleep", "600"], { stdio: "ignore" });
    await waitUntilLocked(lockFile());
    const tunnel = start();
    const blocked = (await tunnel.waitFor(
      (e) => e.event === "state" && (e as unknown as StateEvent).phase === "blocked",
      15_000,
      "blocked",
    )) as unknown as StateEvent;
    expect(blocked.message).toMatch(/`minikube tunnel` is running for this profile/);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");

    const status = JSON.parse((await runCli(lab.host, ["status", "--json", "--no-probe"], fake.env())).stdout);
    expect(status.profiles[0].tunnelLock).toEqual({ kind: "minikube" });
    expect((await runCli(lab.host, ["status", "--no-probe"], fake.env())).stdout).toContain(
      "`minikube tunnel` is running for this profile",
    );

    holder.kill("SIGKILL");
    await tunnel.nextState(
      (e) => (e as unknown as StateEvent).phase === "active",
      15_000,
      "active after minikube tunnel exited",
    );
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await tunnel.stop()).toBe(0);
  });

  it("while we run, the lock is ours: minikube tunnel would refuse to start, and status names our process", async () => {
    const tunnel = start();
    await tunnel.ready();
    // What gofrs/flock's TryLock does: LOCK_EX|LOCK_NB, failing with EWOULDBLOCK.
    const attempt = await run("flock", ["--exclusive", "--nonblock", lockFile(), "true"]).then(
      () => "got it",
      () => "refused",
    );
    expect(attempt).toBe("refused");
    const status = JSON.parse((await runCli(lab.host, ["status", "--json", "--no-probe"], fake.env())).stdout);
    expect(status.profiles[0].tunnelLock).toEqual({ kind: "minikube-tunnel", pid: tunnel.child.pid });
    expect(await tunnel.stop()).toBe(0);
    expect(
      await run("flock", ["--exclusive", "--nonblock", lockFile(), "true"]).then(
        () => "got it",
        () => "refused",
      ),
    ).toBe("got it");
  });
});

/** flock tells no one when it has the lock: a try that fails says it holds it. */
async function waitUntilLocked(path: string): Promise<void> {
  await eventually(
    () =>
      run("flock", ["--exclusive", "--nonblock", path, "true"]).then(
        () => false,
        () => true,
      ),
    { timeoutMs: 5000, everyMs: 20, what: `${path} to be locked` },
  );
}
