import { type AppState, type ProfileView, conflictsOf, isDegraded, trayIconState } from "../../shared/app-state.js";
import { serviceEndpoints } from "../../shared/service-address.js";
import { nameMenuItems } from "./tray-names.js";

export type { MenuAction, MenuItem } from "./menu-item.js";
import type { MenuItem } from "./menu-item.js";

/**
 * A native menu with thousands of items is slow to build and useless to read: the rest is one click away, in the
 * window.
 */
export const MAX_TRAY_SERVICES = 20;

function statusLine(state: AppState): string {
  const icon = trayIconState(state);
  const running = state.profiles.filter((p) => p.running).length;
  const conflicts = conflictsOf(state).length;
  const degraded = state.profiles.filter(isDegraded).length;
  if (icon === "error") return `Error: ${state.error ?? "a route failed"}`;
  if (running === 0) return "No tunnel running";
  const extras = [
    ...(conflicts > 0 ? [`${conflicts} conflict${conflicts === 1 ? "" : "s"}`] : []),
    ...(degraded > 0 ? [`${degraded} degraded`] : []),
  ];
  return `${running} tunnel${running === 1 ? "" : "s"} running${extras.length > 0 ? `, ${extras.join(", ")}` : ""}`;
}

function profileLine(p: ProfileView): string {
  if (p.running && p.mode === "forward") {
    const link =
      p.link?.state === "refused"
        ? "SSH link refused (host key mismatch)"
        : `SSH link ${p.link?.state ?? "connecting"}`;
    if (isDegraded(p))
      return `${p.profile} (forward mode): degraded, ${p.probe?.target ?? "the cluster"} does not answer through the SSH link`;
    return `${p.profile} (forward mode): ${p.phase}, ${link}`;
  }
  const where = p.nodeIp ? ` (${p.nodeIp})` : "";
  if (isDegraded(p))
    return `${p.profile}${where}: degraded, ${p.probe?.target ?? "the cluster"} does not answer through the routes`;
  return `${p.profile}${where}: ${p.running ? p.phase : "stopped"}`;
}

export function buildTrayMenu(state: AppState): MenuItem[] {
  const items: MenuItem[] = [
    { id: "status", label: statusLine(state), enabled: false },
    { id: "sep-status", type: "separator" },
  ];
  for (const p of state.profiles) {
    items.push({ id: `profile:${p.profile}`, label: profileLine(p), enabled: false });
    items.push(
      p.running
        ? {
            id: `stop:${p.profile}`,
            label: "Stop tunnel",
            enabled: !state.busy,
            action: { type: "stop", profile: p.profile },
          }
        : {
            id: `start:${p.profile}`,
            label: "Start tunnel",
            enabled: !state.busy,
            action: { type: "start", profile: p.profile },
          },
    );
    for (const r of p.routes)
      items.push({
        id: `route:${p.profile}:${r.cidr}`,
        label: `  ${r.cidr} → ${r.gateway}  ${r.state}`,
        enabled: false,
      });
    if (p.running && p.names?.state === "on")
      items.push({
        id: `names:${p.profile}`,
        label: `  names: on${p.names.example ? ` (${p.names.example})` : ` (*.svc.${p.names.domain})`}`,
        enabled: false,
      });
    else if (p.running && p.names?.state === "error")
      items.push({ id: `names:${p.profile}`, label: "  names: not set (see the window)", enabled: false });
    if (p.suggestion === "forward-mode")
      items.push({
        id: `suggest-forward:${p.profile}`,
        label: "  Not reachable through routes: use forward mode",
        enabled: !state.busy,
        action: { type: "set-mode", profile: p.profile, mode: "forward" },
      });
  }
  const conflicts = conflictsOf(state);
  items.push({ id: "sep-profiles", type: "separator" });
  items.push({
    id: "conflicts",
    label: `Conflicts (${conflicts.length})…`,
    enabled: conflicts.length > 0,
    action: { type: "open-conflicts" },
  });
  const services = state.profiles.flatMap((p) => p.services.filter((s) => s.externalIps.some((i) => i.ip)));
  const endpoints = services.flatMap((s) => serviceEndpoints(s).map((endpoint) => ({ s, endpoint })));
  const shown = endpoints.slice(0, MAX_TRAY_SERVICES);
  // Ingress and Gateway names share the Services' room: what is left of it after the Services' ports.
  const names = nameMenuItems(state, MAX_TRAY_SERVICES - shown.length);
  const more = endpoints.length - shown.length + names.more;
  items.push({
    id: "services",
    label: names.items.length > 0 ? "Services and Ingress names" : "Services with external IPs",
    type: "submenu",
    enabled: services.length > 0 || names.items.length > 0,
    submenu: [
      ...shown.map(({ s, endpoint }): MenuItem => {
        const address = endpoint.address ?? "";
        const key = `${s.namespace}/${s.name}:${endpoint.port}`;
        if (!endpoint.address)
          return {
            id: `service:${key}`,
            label: `${s.namespace}/${s.name}  ${endpoint.port}/${endpoint.protocol}  ${endpoint.forward?.state === "udp-not-forwarded" ? "not forwarded" : endpoint.forward?.state === "port-in-use" ? "port in use" : "not reachable"}`,
            enabled: false,
          };
        return {
          id: `service:${key}`,
          label: `${s.namespace}/${s.name}  ${address}`,
          type: endpoint.url ? "submenu" : "normal",
          ...(endpoint.url
            ? {
                submenu: [
                  { id: `copy:${key}`, label: "Copy address", action: { type: "copy", text: address } },
                  { id: `open:${key}`, label: "Open in browser", action: { type: "open-url", url: endpoint.url } },
                ],
              }
            : { action: { type: "copy", text: address } }),
        };
      }),
      ...(names.items.length > 0
        ? [
            ...(shown.length > 0 ? [{ id: "sep-names", type: "separator" } satisfies MenuItem] : []),
            { id: "names-title", label: "Ingress and Gateway names", enabled: false } satisfies MenuItem,
            ...names.items,
          ]
        : []),
      ...(more > 0
        ? [
            {
              id: "services-more",
              label: `${more} more… in the window`,
              action: { type: "open-services" },
            } satisfies MenuItem,
          ]
        : []),
    ],
  });
  items.push({ id: "cleanup", label: "Clean up stale tunnels", enabled: !state.busy, action: { type: "cleanup" } });
  items.push({ id: "sep-app", type: "separator" });
  items.push({ id: "open-window", label: "Open window…", action: { type: "open-window" } });
  items.push({ id: "preferences", label: "Preferences…", action: { type: "open-preferences" } });
  items.push({ id: "quit", label: "Quit", action: { type: "quit" } });
  return items;
}
