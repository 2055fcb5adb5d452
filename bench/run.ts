import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { labUnavailableReason } from "../test-support/netns-lab.js";
import { benchIdle } from "./idle-bench.js";
import { benchIngress } from "./ingress-bench.js";
import { benchForward, benchForwardScale } from "./forward-bench.js";
import { benchBacklog, benchBulk, benchP1 } from "./lb-bench.js";
import { benchRoutes } from "./route-bench.js";
import { benchUi } from "./ui-bench.js";
import { benchUdp } from "./udp-bench.js";
import type { UdpLoadResult } from "../test-support/dns-load.js";
import { dockerLabUnavailableReason } from "../test-support/docker-lab.js";

const only = process.argv[2];
const outDir = join(import.meta.dirname, "results");
await mkdir(outDir, { recursive: true });
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cores: (await import("node:os")).cpus().length,
};

if (!only || only === "routes") {
  const skip = labUnavailableReason();
  if (skip) console.log(`route benchmark skipped: ${skip}`);
  else {
    const routes = await benchRoutes();
    results.routes = routes;
    console.log(
      `routes: ${routes.routes} routes, start → routes in kernel ${routes.startToRoutesMs} ms vs ${routes.bareIpRouteAddMs} ms of bare ip route add (×${routes.ratio}); stop ${routes.stopMs} ms vs ${routes.bareIpRouteDelMs} ms bare del (×${routes.stopRatio}); cleanup of a dead tunnel ${routes.cleanupMs} ms`,
    );
  }
}

if (!only || only === "idle") {
  const skip = labUnavailableReason();
  if (skip) console.log(`idle benchmark skipped: ${skip}`);
  else {
    const idle = await benchIdle();
    results.idle = idle;
    console.log(
      `P5 idle tunnel: ${idle.minikubeProcessesPerMinute} minikube processes/min (${JSON.stringify(idle.minikubeCalls)}), CPU ${idle.cpuPercentOfOneCore}% of one core over ${idle.windowSeconds} s; a stopped node noticed after ${idle.stoppedNodeNoticedMs} ms`,
    );
  }
}

for (const node of ["netns", "docker"] as const) {
  // The netns lab's node behind socat in a full run; minikube's container behind docker-proxy when asked for.
  const name = node === "netns" ? "forward" : "forward-docker";
  if (node === "netns" ? only && only !== name : only !== name) continue;
  const skip = node === "netns" ? labUnavailableReason() : dockerLabUnavailableReason();
  if (skip) {
    console.log(`${name} benchmark skipped: ${skip}`);
    continue;
  }
  const f = await benchForward({ node });
  results[name === "forward" ? "forward" : "forwardDocker"] = f;
  console.log(
    `${name} (node: ${node === "netns" ? "sshd behind socat" : "minikube's container behind docker-proxy"}): ${f.transferMb} MB, ${f.rounds} rounds, ${f.latencySamples} samples each; load ${f.load.before.join(" ")} → ${f.load.after.join(" ")}; ssh -N -L ${f.ssh.MBps} MB/s, p50 ${f.ssh.p50} ms / p99 ${f.ssh.p99} ms, 100 at once ${f.ssh.concurrentMs} ms (${f.ssh.concurrentFailed} failed)`,
  );
  for (const [client, c] of Object.entries(f.clients))
    console.log(
      `  ${client}: ${c.throughput.MBps} MB/s (×${c.throughput.ratio}); p50 ${c.latency.p50} ms / p99 ${c.latency.p99} ms (p50 ×${c.latency.p50Ratio}); 100 at once ${c.concurrent.ms} ms (${c.concurrent.failed} failed); ${f.scale.services} Services × 2 ports listening ${c.scale.allListeningMs} ms after the link is up, +${c.scale.rssAddedMb} MB RSS; 200 node ports ${c.scale.nodePorts.allListeningMs} ms, +${c.scale.nodePorts.rssAddedMb} MB RSS; goals ${c.meetsGoals ? "met" : "not met"}`,
    );
}

// The forward benchmark's scale part alone (not in a full run, which has it): listeners after the link is up.
if (only === "forward-scale") {
  const skip = labUnavailableReason();
  if (skip) console.log(`forward scale benchmark skipped: ${skip}`);
  else {
    const f = await benchForwardScale();
    results.forwardScale = f;
    console.log(`forward scale: load ${f.load.before.join(" ")} → ${f.load.after.join(" ")}`);
    for (const [client, c] of Object.entries(f.scale))
      console.log(
        `  ${client}: 200 Services × 2 ports (${f.ports}) listening ${c.allListeningMs} ms after the link is up, +${c.rssAddedMb} MB RSS; 200 node ports on 127.0.0.1 ${c.nodePorts.allListeningMs} ms, +${c.nodePorts.rssAddedMb} MB RSS`,
      );
  }
}

// Forward mode's UDP on the real Docker engine (about a minute): only when asked for.
if (only === "udp") {
  const skip = dockerLabUnavailableReason();
  if (skip) console.log(`UDP benchmark skipped: ${skip}`);
  else {
    const u = await benchUdp();
    results.udp = u;
    const line = (r: UdpLoadResult) =>
      `${r.sent} sent at ${r.rate}/s, ${r.lost} lost, ${r.malformed} merged or cut, ${r.duplicates} duplicated, ${r.reordered} reordered; p50 ${r.p50} ms / p99 ${r.p99} ms`;
    console.log(
      `UDP (load ${u.load.before.join(" ")} → ${u.load.after.join(" ")}), ${u.rate} queries/s for ${u.seconds} s:`,
    );
    console.log(`  the relay's published port alone (docker-proxy, socat): ${line(u.relayAlone)}`);
    for (const [client, c] of Object.entries(u.clients))
      console.log(
        `  the Service's address (tunnel with ${client}): ${line(c.udp)}; the same query over TCP through the link: ${c.tcp.samples} of ${c.tcp.samples + c.tcp.failed}, p50 ${c.tcp.p50} ms / p99 ${c.tcp.p99} ms`,
      );
  }
}

// Ingress names (route mode, minikube's ingress addon; about 2 minutes, a minute of it idle): only when asked for.
if (only === "ingress") {
  const skip = labUnavailableReason();
  if (skip) console.log(`ingress benchmark skipped: ${skip}`);
  else {
    const { latency: l, scale: s } = await benchIngress();
    results.ingress = { latency: l, scale: s };
    console.log(
      `ingress: ${l.samples} Ingresses one after another (load ${l.load.before.join(" ")} → ${l.load.after.join(" ")}): create → resolves p50 ${l.resolved.p50} ms / p99 ${l.resolved.p99} ms, → answers p50 ${l.answered.p50} ms / p99 ${l.answered.p99} ms (max ${l.answered.max} ms); goal p99 ≤ 1 s ${l.meetsGoal ? "met" : "not met"}`,
    );
    console.log(
      `  ${s.ingresses} Ingresses × 2 hosts and ${s.gateways} Gateways (${s.names} names, load ${s.load.before.join(" ")} → ${s.load.after.join(" ")}): created in ${s.createMs} ms, all resolvable ${s.allResolvableMs} ms after the first create; RSS ${s.rssBaselineMb} → ${s.rssWithNamesMb} MB (+${s.rssAddedMb} MB); ${s.watchesOpened} watches opened; idle ${s.idleWindowSeconds} s: ${s.idleRequests.total} requests ${JSON.stringify(s.idleRequests.byVerb)}, CPU ${s.idleCpuPercentOfOneCore}% of one core`,
    );
  }
}

if (!only || only === "lb") {
  const p1 = await benchP1();
  results.p1 = p1;
  console.log(
    `P1: create → watcher sees the external IP, ${p1.servicesPresent} Services present: controller p50 ${p1.controller.p50} ms / p99 ${p1.controller.p99} ms; bare client p50 ${p1.bare.p50} ms / p99 ${p1.bare.p99} ms (p99 ×${p1.p99Ratio})`,
  );
  const bare = await benchBulk(10_000, 5, "bare");
  const controller = await benchBulk(10_000, 30, "controller");
  const backlog = await benchBacklog(10_000);
  results.p2p5 = { controller, bare, backlog };
  console.log(
    `P2 (backlog): controller started with 10,000 unassigned Services present, all assigned ${backlog.startToAllAssignedMs} ms after its start (process start included), ${backlog.statusWritesPerService} status writes/Service`,
  );
  console.log(
    `P2: 10,000 created in ${controller.createMs} ms; all assigned after ${controller.allAssignedMs} ms (bare client ${bare.allAssignedMs} ms, creation ${bare.createMs} ms); status writes/Service ${controller.statusWritesPerService}, events/Service ${controller.eventWritesPerService}; idle requests/min ${controller.idleRequestsPerMinute}`,
  );
  console.log(
    `P5: controller RSS ${controller.rssBaselineMb} MB → ${controller.rssWith10kMb} MB with 10,000 Services (+${controller.rssOverBaselineMb} MB); idle CPU ${controller.idleCpuPercent}% over ${controller.idleWindowSeconds} s`,
  );
}

if (!only || only === "ui") {
  const ui = await benchUi();
  results.p6 = ui;
  console.log(
    `P6: Services view with ${ui.services} Services in Chromium: first render ${ui.firstRenderMs} ms from navigation, state update ${ui.updateMs} ms, scroll to end ${ui.scrollToEndMs} ms, filter to one row ${ui.filterMs} ms; JS heap ${ui.jsHeapMb} MB`,
  );
}

const file = join(outDir, only ? `latest-${only}.json` : "latest.json");
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`written to ${file}`);
