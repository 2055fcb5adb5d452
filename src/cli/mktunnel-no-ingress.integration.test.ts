import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { IngressNameStatus } from "../engine/access/cluster-access.js";
import { bundled } from "../../test-support/bundles.js";
import { StartedTunnel } from "../../test-support/cli-process.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { createWithKubectl } from "../../test-support/kube-sim/kubectl-objects.js";
import { ingress, minikubeIngressAddon } from "../../test-support/kube-sim/network-fixtures.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { privateEtc } from "../../test-support/private-etc.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: mktunnel start --no-ingress: ${skip}`);

type State = { event: string; ingresses?: IngressNameStatus[]; gateways?: IngressNameStatus[] };

/**
 * `--no-ingress` (docs/architecture.md, "Ingress and Gateway names"): the tunnel still follows the cluster for the
 * LoadBalancer controller, but reads no Ingress or Gateway and writes no name of theirs. The same cluster without the
 * flag shows the name mapped, so the test would see one if the flag were ignored.
 */
describe.skipIf(skip !== null)("mktunnel start --no-ingress", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let sim: ChildProcess;
  let kubeconfig: string;
  let dir: string;
  let tunnel: StartedTunnel | null = null;

  const kubectl = (...args: string[]) =>
    run("ip", ["netns", "exec", lab.host, "kubectl", "--kubeconfig", kubeconfig, ...args]);
  const hosts = () => readFile(join(privateEtc(), "hosts"), "utf8");
  const start = (...args: string[]) =>
    (tunnel = StartedTunnel.start(
      lab.host,
      ["--mode", "route", "--poll-interval", "300", ...args],
      fake.env({ KUBECONFIG: kubeconfig }),
    ));

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    dir = await mkdtemp(join(tmpdir(), "mkt-no-ingress-"));
    sim = spawn("ip", ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    kubeconfig = await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).once("line", resolve));
    await createWithKubectl(kubectl, dir, [...minikubeIngressAddon(lab.nodeIp), ingress("shop", ["shop.test"])]);
  });

  afterEach(async () => {
    if (tunnel && tunnel.child.exitCode === null && tunnel.child.signalCode === null) {
      tunnel.child.kill("SIGTERM");
      await tunnel.exited;
    }
    tunnel = null;
    sim?.kill("SIGTERM");
    await lab.destroy();
    await fake.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("with --no-ingress no state carries Ingress or Gateway names and shop.test stays out of the hosts file; without it shop.test is mapped and written", async () => {
    const off = start("--no-ingress");
    // Start resolves only after the Ingress names' first lists are in (IngressFollower.start), so a tunnel that
    // followed them would have put them in a state event before "ready".
    await off.ready();
    const states = off.events.filter((e) => e.event === "state") as unknown as State[];
    expect(states.length).toBeGreaterThan(0);
    expect(states.filter((s) => s.ingresses !== undefined || s.gateways !== undefined)).toEqual([]);
    expect(await hosts()).not.toContain("shop.test");
    expect(await off.stop()).toBe(0);

    const on = start();
    await on.waitFor(
      (e) =>
        e.event === "state" &&
        (e as unknown as State).ingresses?.some((n) => n.host === "shop.test" && n.mapped) === true,
      20_000,
      "shop.test mapped without --no-ingress",
    );
    expect(await hosts()).toContain("shop.test");
    expect(await on.stop()).toBe(0);
    expect(await hosts()).not.toContain("shop.test");
  }, 60_000);
});
