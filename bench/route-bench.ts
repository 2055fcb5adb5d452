import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { FakeMinikube } from "../test-support/fake-minikube.js";
import { NetnsLab } from "../test-support/netns-lab.js";
import { parseCidr } from "../src/shared/cidr.js";
import { ClusterInspector } from "../src/engine/cluster/cluster-inspector.js";
import { MinikubeCli } from "../src/engine/cluster/minikube-cli.js";
import { type CommandRunner, execFileRunner } from "../src/engine/system/command-runner.js";
import { LinuxRouteTable } from "../src/engine/root/routes/route-table-linux.js";
import { RegistryFile } from "../src/engine/registry/registry-file.js";
import { createInProcessRoot, fileAccessFor } from "../src/engine/root/index.js";
import { RouteRegistrar } from "../src/engine/root/routes/route-transaction.js";
import { cleanupStaleTunnels } from "../src/engine/root/routes/stale-cleanup.js";
import { RouteAccess } from "../src/engine/access/routes/route-access.js";
import { ProfileNames } from "../src/engine/access/names/profile-names.js";
import { IpPool } from "../src/engine/lb/ip-pool.js";
import { median, round1 } from "./stats.js";

const run = promisify(execFile);

export interface RouteBenchResult {
  routes: number;
  rounds: number;
  startToRoutesMs: number;
  bareIpRouteAddMs: number;
  ratio: number;
  stopMs: number;
  bareIpRouteDelMs: number;
  stopRatio: number;
  cleanupMs: number;
}

/**
 * Start-to-routes time of the engine against the same number of bare
 * `ip route add` commands, both run through `ip netns exec` in the same lab.
 */
export async function benchRoutes(routeCount = 16, rounds = 5): Promise<RouteBenchResult> {
  const lab = await NetnsLab.create();
  const fake = await FakeMinikube.create();
  try {
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    const env = fake.env();
    const runner: CommandRunner = {
      run: (file, args, options) =>
        execFileRunner.run(
          "env",
          [`PATH=${env.PATH}`, `FAKE_MINIKUBE_STATE=${env.FAKE_MINIKUBE_STATE}`, file, ...args],
          options,
        ),
    };
    const pool = Array.from({ length: routeCount - 1 }, (_, i) => parseCidr(`172.30.${i}.0/24`));
    const table = new LinuxRouteTable(lab.hostRunner());
    const starts: number[] = [];
    const stops: number[] = [];
    const bareAdds: number[] = [];
    const bareDels: number[] = [];
    const cleanups: number[] = [];
    const targets = ["10.96.0.0/12", ...pool.map((c) => c.text)];
    for (let round = 0; round < rounds; round++) {
      const registry = new RegistryFile(fake.registryPath, { files: fileAccessFor(fake.miniPath) });
      // The same root a `sudo mktunnel start` has: its session, policy and records included.
      const root = await createInProcessRoot({ registry, table, runtimeDir: fake.miniPath, names: false });
      const access = new RouteAccess(
        {
          profile: "minikube",
          locks: null,
          names: (changed) => new ProfileNames("minikube", "cluster.local", null, () => undefined, changed),
        },
        { inspector: new ClusterInspector(fake.miniPath, new MinikubeCli("minikube", runner), null), root, table },
        {
          lb: { mode: "pool", pool: new IpPool(pool.map((c) => c.text)) },
          pollIntervalMs: 60_000,
          probe: async (host, port) => ({ target: `${host}:${port}`, ok: true, checkedAt: "" }),
        },
      );
      let t = performance.now();
      await access.start();
      starts.push(performance.now() - t);
      const added = access.snapshot().routes.filter((r) => r.state === "active").length;
      if (added !== routeCount) throw new Error(`expected ${routeCount} active routes, got ${added}`);
      t = performance.now();
      await access.stop();
      stops.push(performance.now() - t);

      t = performance.now();
      for (const cidr of targets)
        await run("ip", ["netns", "exec", lab.host, "ip", "route", "add", cidr, "via", lab.nodeIp]);
      bareAdds.push(performance.now() - t);
      t = performance.now();
      for (const cidr of targets)
        await run("ip", ["netns", "exec", lab.host, "ip", "route", "del", cidr, "via", lab.nodeIp]);
      bareDels.push(performance.now() - t);

      // A dead tunnel's routes, registered under a pid that cannot exist, then cleaned up.
      const dead = new RouteRegistrar(table, registry, { pid: 2 ** 22 + 1 });
      await dead.addRoutes(
        targets.map((cidr) => ({
          destination: parseCidr(cidr),
          gateway: lab.nodeIp,
          profile: "minikube",
          clusterDomain: "cluster.local",
          clusterDnsIp: "10.96.0.10",
        })),
      );
      t = performance.now();
      const report = await cleanupStaleTunnels(table, registry);
      cleanups.push(performance.now() - t);
      if (report.removed.length !== routeCount) throw new Error(`cleanup removed ${report.removed.length}`);
    }
    const startMs = median(starts);
    const bareMs = median(bareAdds);
    return {
      routes: routeCount,
      rounds,
      startToRoutesMs: round1(startMs),
      bareIpRouteAddMs: round1(bareMs),
      ratio: Math.round((startMs / bareMs) * 100) / 100,
      stopMs: round1(median(stops)),
      bareIpRouteDelMs: round1(median(bareDels)),
      stopRatio: Math.round((median(stops) / median(bareDels)) * 100) / 100,
      cleanupMs: round1(median(cleanups)),
    };
  } finally {
    await lab.destroy();
    await fake.destroy();
  }
}
