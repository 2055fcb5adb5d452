import { readFile } from "node:fs/promises";
import { buildBundles } from "../test-support/bundles.js";
import { StartedTunnel } from "../test-support/cli-process.js";
import { FakeMinikube } from "../test-support/fake-minikube.js";
import { NetnsLab } from "../test-support/netns-lab.js";

export interface IdleBenchResult {
  windowSeconds: number;
  minikubeProcessesPerMinute: number;
  minikubeCalls: Record<string, number>;
  cpuPercentOfOneCore: number;
  stoppedNodeNoticedMs: number;
}

/** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * The idle benchmark: a healthy `mktunnel start` (the bundled CLI, default 5 s
 * heartbeat) in the lab for a minute: how many minikube processes it runs
 * and how much CPU it uses; then how long it takes to notice the node stop.
 */
export async function benchIdle(windowSeconds = 60): Promise<IdleBenchResult> {
  await buildBundles();
  const lab = await NetnsLab.create();
  const fake = await FakeMinikube.create();
  let tunnel: StartedTunnel | null = null;
  try {
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    await lab.addServiceAddress("10.96.0.1");
    await lab.startTcpServer("10.96.0.1", 443);
    tunnel = StartedTunnel.start(lab.host, ["--no-lb"], fake.env());
    await tunnel.ready();
    // Let start-up settle, then measure a quiet window.
    await new Promise((r) => setTimeout(r, 3000));
    const callsBefore = await fake.calls();
    const pid = tunnel.child.pid!;
    const ticksBefore = await cpuTicks(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowSeconds * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const ticks = (await cpuTicks(pid)) - ticksBefore;
    const callsAfter = await fake.calls();
    const calls: Record<string, number> = {};
    for (const [command, n] of Object.entries(callsAfter))
      if (n - (callsBefore[command] ?? 0) > 0) calls[command] = n - (callsBefore[command] ?? 0);
    const total = Object.values(calls).reduce((a, b) => a + b, 0);

    await lab.setNodeLink(false);
    await fake.setHost("minikube", "Stopped");
    const t1 = performance.now();
    await tunnel.nextState((e) => e.phase === "waiting-for-node", 30_000, "waiting-for-node");
    const noticed = performance.now() - t1;
    return {
      windowSeconds: Math.round(seconds),
      minikubeProcessesPerMinute: Math.round((total / seconds) * 60 * 10) / 10,
      minikubeCalls: calls,
      cpuPercentOfOneCore: Math.round((ticks / 100 / seconds) * 100 * 100) / 100,
      stoppedNodeNoticedMs: Math.round(noticed),
    };
  } finally {
    tunnel?.child.kill("SIGKILL");
    await lab.destroy();
    await fake.destroy();
  }
}
