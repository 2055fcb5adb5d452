import type { ExternalIpCleanup } from "../engine/tunnels/stale-external-ips.js";
import type { UdpRelayCleanup } from "../engine/tunnels/stale-udp-relays.js";
import type { CleanupReport } from "../engine/root/index.js";
import type { StatusReport } from "./status-report.js";
import { describeHolder } from "../engine/registry/tunnel-lock.js";
import { nameBlocks } from "./name-lines.js";

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  for (const p of report.profiles) {
    const where =
      p.mode === "forward"
        ? "forward mode (SSH forwards on loopback addresses)"
        : `host ${p.host}, node IP ${p.nodeIp ?? "-"}`;
    lines.push(`Profile ${p.profile}: ${p.error ? `error: ${p.error}` : where}`);
    if (p.tunnelLock) lines.push(`  ${describeHolder(p.tunnelLock)}`);
    if (p.link)
      lines.push(
        `  SSH link ${p.link.state}${p.link.endpoint ? ` (${p.link.endpoint})` : ""}${p.link.error ? `: ${p.link.error}` : ""}`,
      );
    for (const r of p.routes) {
      lines.push(
        `  ${r.state.padEnd(8)} ${r.cidr} -> ${r.gateway} (${r.kind})${r.conflict ? `  ${r.conflict.message}` : ""}`,
      );
    }
    for (const f of p.forwards ?? [])
      lines.push(`  ${f.state.padEnd(13)} ${f.address}:${f.port}/${f.protocol} -> ${f.namespace}/${f.name}`);
    for (const n of p.nodePorts ?? [])
      lines.push(
        `  ${n.state.padEnd(13)} ${n.address}:${n.port}/${n.protocol} -> ${n.namespace}/${n.name}:${n.servicePort} (node port)`,
      );
    if (p.probe)
      lines.push(
        `  probe ${p.probe.target}: ${p.probe.ok ? `reachable in ${p.probe.latencyMs} ms` : `unreachable (${p.probe.error})`}`,
      );
    if (p.suggestion === "forward-mode")
      lines.push(
        "  the cluster does not answer through its routes: a docker or podman node is often not routable from here; try `mktunnel start --mode forward`",
      );
    if (p.podCidrError) lines.push(`  pod CIDRs: ${p.podCidrError}`);
    for (const svc of p.services ?? []) {
      const ips = svc.externalIps.map((i) => i.ip ?? i.hostname).join(", ") || "<pending>";
      const ports = svc.ports.map((port) => `${port.port}/${port.protocol}`).join(",");
      lines.push(
        `  service ${svc.namespace}/${svc.name}  ${ips}  ${ports}  (${svc.owner === "minikube-tunnel" ? "ours" : svc.owner === "other" ? "set by another controller" : "no external IP"})`,
      );
    }
    if (p.servicesError) lines.push(`  services unknown: ${p.servicesError}`);
    if (p.nodePortsError) lines.push(`  NodePort Services unknown: ${p.nodePortsError}`);
    lines.push(...nameBlocks(p));
    if (p.ingressError) lines.push(`  Ingress and Gateway names unknown: ${p.ingressError}`);
  }
  lines.push(`Registry ${report.registryPath}: ${report.tunnels.length === 0 ? "no tunnels" : ""}`.trimEnd());
  for (const t of report.tunnels) {
    lines.push(`  ${t.profile} pid ${t.pid} (${t.writer}) ${t.alive ? "running" : "dead: run `mktunnel cleanup`"}`);
    for (const r of t.routes)
      lines.push(`    ${r.destination} -> ${r.gateway}${r.inKernel ? "" : " (not in routing table)"}`);
  }
  if (report.conflicts.length > 0) lines.push(`Conflicts: ${report.conflicts.length}`);
  return lines.join("\n");
}

export function formatCleanup(
  report: CleanupReport,
  externalIps: readonly ExternalIpCleanup[] = [],
  udpRelays: readonly UdpRelayCleanup[] = [],
): string {
  const lines: string[] = [];
  for (const r of report.removed) {
    lines.push(
      `removed ${r.destination} -> ${r.gateway} of ${r.profile} (pid ${r.pid}, ${r.writer})${r.routeRemoved ? "" : " [route was already gone]"}`,
    );
  }
  for (const f of report.failures)
    lines.push(`FAILED ${f.destination} -> ${f.gateway} of ${f.profile} (pid ${f.pid}): ${f.error}`);
  for (const f of report.refused ?? [])
    lines.push(`LEFT ${f.destination} -> ${f.gateway} of ${f.profile} (pid ${f.pid}): ${f.error}`);
  for (const i of externalIps) {
    for (const key of i.released) lines.push(`released the external IP of ${key} (profile ${i.profile})`);
    for (const f of i.failures) lines.push(`FAILED to release ${f} (profile ${i.profile})`);
  }
  for (const r of udpRelays) {
    for (const name of r.removed) lines.push(`removed the UDP relay ${name} (profile ${r.profile})`);
    for (const f of r.failures) lines.push(`FAILED to remove the UDP relay ${f} (profile ${r.profile})`);
  }
  for (const n of report.names ?? []) lines.push(`took back ${n}`);
  for (const f of report.nameFailures ?? []) lines.push(`FAILED to take back names: ${f}`);
  if (lines.length === 0) lines.push("no stale tunnels");
  if (report.skippedAlive > 0) lines.push(`${report.skippedAlive} route(s) of running tunnels left alone`);
  return lines.join("\n");
}
