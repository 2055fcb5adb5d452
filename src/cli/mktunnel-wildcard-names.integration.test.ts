import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { IngressNameStatus } from "../engine/access/cluster-access.js";
import { bundled } from "../../test-support/bundles.js";
import { StartedTunnel, runCli } from "../../test-support/cli-process.js";
import { inHostOf, killAndCleanUp, kubectlOf } from "../../test-support/ingress-lab-steps.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { createWithKubectl } from "../../test-support/kube-sim/kubectl-objects.js";
import { ingress, minikubeIngressAddon } from "../../test-support/kube-sim/network-fixtures.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { privateEtc } from "../../test-support/private-etc.js";
import { ResolvedLab, resolvedUnavailableReason } from "../../test-support/resolved-lab.js";

const run = promisify(execFile);
const skip = labUnavailableReason() ?? resolvedUnavailableReason();
if (skip) console.log(`skipped: wildcard Ingress names on a real systemd-resolved: ${skip}`);

type State = { event: string; names?: { state: string; how?: string }; ingresses?: IngressNameStatus[] };

/**
 * A wildcard Ingress host end to end on Linux (docs/architecture.md, "Ingress and Gateway names", "Wildcards"): the
 * tunnel (root in its own process) answers `*.shop.test` from its DNS responder behind a link of its own in a real
 * systemd-resolved; glibc's lookups reach it; after kill -9, `mktunnel cleanup` deletes the link the dead tunnel left.
 */
describe.skipIf(skip !== null)("wildcard Ingress names in route mode, on a real systemd-resolved", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let resolved: ResolvedLab;
  let sim: ChildProcess;
  let kubeconfig: string;
  let dir: string;
  let runtimeDir: string;
  let resolvConf: string;
  let tunnel: StartedTunnel | null = null;

  const env = () =>
    fake.env({
      KUBECONFIG: kubeconfig,
      DBUS_SYSTEM_BUS_ADDRESS: resolved.busAddress,
      MKTUNNEL_RUNTIME_DIR: runtimeDir,
    });
  const kubectl = kubectlOf(
    () => lab.host,
    () => kubeconfig,
  );
  const inHost = inHostOf(() => lab.host);
  const links = async () =>
    (JSON.parse((await run("ip", ["-n", lab.host, "-j", "link", "show"])).stdout) as { ifname: string }[])
      .map((l) => l.ifname)
      .filter((n) => n.startsWith("mktdns"));

  beforeEach(async () => {
    resolvConf = await readFile(join(privateEtc(), "resolv.conf"), "utf8").catch(() => "");
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    dir = await mkdtemp(join(tmpdir(), "mkt-wild-objects-"));
    runtimeDir = await mkdtemp(join(tmpdir(), "mkt-run-"));
    sim = spawn("ip", ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    kubeconfig = await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).once("line", resolve));
    resolved = await ResolvedLab.start(lab);
    await writeFile(join(privateEtc(), "resolv.conf"), "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
  });

  afterEach(async () => {
    await killAndCleanUp(tunnel, lab.host, env());
    tunnel = null;
    sim?.kill("SIGTERM");
    await resolved?.stop();
    await lab.destroy();
    await fake.destroy();
    await rm(dir, { recursive: true, force: true });
    await rm(runtimeDir, { recursive: true, force: true });
    await writeFile(join(privateEtc(), "resolv.conf"), resolvConf);
  });

  it("*.shop.test is mapped through the responder and the status says how; kill -9, then cleanup deletes its link", async () => {
    await createWithKubectl(kubectl, dir, [...minikubeIngressAddon(lab.nodeIp), ingress("shop", ["*.shop.test"])]);
    const t = (tunnel = StartedTunnel.start(lab.host, ["--mode", "route", "--no-lb", "--poll-interval", "300"], env()));
    await t.ready();
    const mapped = (await t.waitFor(
      (e) => {
        const s = e as unknown as State;
        return (
          e.event === "state" &&
          s.ingresses?.find((n) => n.host === "*.shop.test")?.mapped === true &&
          (s.names?.how ?? "").includes("wildcards:")
        );
      },
      20_000,
      "*.shop.test mapped",
    )) as unknown as State;
    expect(mapped.ingresses!.find((n) => n.host === "*.shop.test")).toMatchObject({
      address: lab.nodeIp,
      mapped: true,
      wildcard: true,
    });
    expect(mapped.names!.how).toMatch(
      /; wildcards: DNS responder 127\.64\.255\.255:53, ~shop\.test on link mktdns0 \(systemd-resolved\)$/,
    );
    expect(await inHost("getent", "hosts", "cart.shop.test")).toMatch(
      new RegExp(`^${lab.nodeIp.replace(/\./g, "\\.")}\\s+cart\\.shop\\.test$`),
    );

    t.child.kill("SIGKILL");
    await t.exited;
    expect(await links()).toEqual(["mktdns0"]);
    const cleanup = JSON.parse((await runCli(lab.host, ["cleanup", "--json"], env())).stdout) as { names: string[] };
    expect(cleanup.names).toContain("mktdns0 (wildcard names)");
    expect(await links()).toEqual([]);
    expect(await inHost("getent", "hosts", "cart.shop.test")).toBe("exit 2");
  });
});
