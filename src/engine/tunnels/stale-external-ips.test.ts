import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeSim } from "../../../test-support/kube-sim/kube-sim.js";
import { clientFor, externalIpsOf, lbService } from "../../../test-support/kube-sim/sim-client.js";
import { parseCidr } from "../../shared/cidr.js";
import { entryToJson } from "../../shared/tunnel-entry.js";
import { ASSIGNED_ANNOTATION } from "../lb/lb-service.js";
import { RegistryFile } from "../registry/registry-file.js";
import { releaseExternalIpsOfGoneTunnels } from "./stale-external-ips.js";
import { registryAt } from "../../../test-support/registry-at.js";

let sim: KubeSim;
let dir: string;
let registry: RegistryFile;

const entry = (profile: string, pid: number) =>
  entryToJson({
    destination: parseCidr("10.96.0.0/12"),
    gateway: "192.168.49.2",
    profile,
    clusterDomain: "cluster.local",
    clusterDnsIp: "10.96.0.10",
    pid,
    createdAt: "x",
  });
const deadPid = 2 ** 22 + 4321;

/** A Service as our controller leaves it: its external IPs and our record of them. */
function ours(name: string, ip: string) {
  const created = sim.store.create(
    "services",
    "default",
    lbService(name, { annotations: { [ASSIGNED_ANNOTATION]: ip } }),
  );
  sim.store.update(
    "services",
    "default",
    name,
    { ...created, status: { loadBalancer: { ingress: [{ ip, ipMode: "VIP" }] } } },
    "status",
  );
}

beforeEach(async () => {
  sim = await KubeSim.start({ profile: "minikube" });
  dir = await mkdtemp(join(tmpdir(), "mkt-external-ips-"));
  registry = registryAt(join(dir, "tunnels.json"));
});
afterEach(async () => {
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("external IPs left by a tunnel that died", () => {
  it("are taken back when no tunnel of the profile lives; external IPs someone changed or set are left alone", async () => {
    await writeFile(registry.path, JSON.stringify([entry("minikube", deadPid)]));
    ours("web", "172.30.0.1");
    ours("api", "172.30.0.2");
    ours("edited", "172.30.0.3");
    const edited = sim.store.get("services", "default", "edited");
    sim.store.update(
      "services",
      "default",
      "edited",
      { ...edited, status: { loadBalancer: { ingress: [{ ip: "203.0.113.9" }] } } },
      "status",
    );
    const theirs = sim.store.create("services", "default", lbService("theirs"));
    sim.store.update(
      "services",
      "default",
      "theirs",
      { ...theirs, status: { loadBalancer: { ingress: [{ ip: "198.51.100.4" }] } } },
      "status",
    );

    const client = await clientFor(sim);
    const report = await releaseExternalIpsOfGoneTunnels(registry, ["minikube"], new Set(), async () => client);
    expect(report).toEqual([{ profile: "minikube", released: ["default/api", "default/web"], failures: [] }]);
    expect(externalIpsOf(sim, "web")).toEqual([]);
    expect(sim.store.get("services", "default", "web").metadata.annotations?.[ASSIGNED_ANNOTATION]).toBeUndefined();
    expect(externalIpsOf(sim, "edited")).toEqual(["203.0.113.9"]);
    expect(externalIpsOf(sim, "theirs")).toEqual(["198.51.100.4"]);
  });

  it("a profile whose tunnel runs (here or in another process) is not touched; an unreachable cluster is skipped", async () => {
    await writeFile(registry.path, JSON.stringify([entry("other", process.pid)]));
    ours("web", "172.30.0.1");
    const client = await clientFor(sim);
    const report = await releaseExternalIpsOfGoneTunnels(
      registry,
      ["minikube", "other", "down"],
      new Set(["minikube"]),
      async (profile) => {
        if (profile === "down") throw new Error("connect ECONNREFUSED 192.168.58.2:8443");
        return client;
      },
    );
    expect(report).toEqual([
      { profile: "minikube", released: [], failures: [], skipped: "a tunnel for it is running" },
      { profile: "other", released: [], failures: [], skipped: "a tunnel for it is running" },
      {
        profile: "down",
        released: [],
        failures: [],
        skipped: "cluster not reachable: connect ECONNREFUSED 192.168.58.2:8443",
      },
    ]);
    expect(externalIpsOf(sim, "web")).toEqual(["172.30.0.1"]);
  });
});
