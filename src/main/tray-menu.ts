import { type AppState, conflictsOf, trayIconState } from "../shared/app-state.js";
import { serviceEndpoints } from "../shared/service-address.js";

/**
 * The tray menu as plain data, so it can be tested without Electron (Playwright
 * cannot drive native menus). Items carry stable ids; `action` names what the
 * main process does on click. Electron's Menu.buildFromTemplate takes the same shape.
 */
export type MenuAction =
  | { type: "start"; profile: string }
  | { type: "stop"; profile: string }
  | { type: "open-conflicts" }
  | { type: "copy"; text: string }
  | { type: "open-url"; url: string }
  | { type: "cleanup" }
  | { type: "open-window" }
  | { type: "open-preferences" }
  | { type: "quit" };

export interface MenuItem {
  readonly id: string;
  readonly label?: string;
  readonly type?: "separator" | "normal" | "submenu";
  readonly enabled?: boolean;
  readonly action?: MenuAction;
  readonly submenu?: readonly MenuItem[];
}

function statusLine(state: AppState): string {
  const icon = trayIconState(state);
  const running = state.profiles.filter((p) => p.running).length;
  const conflicts = conflictsOf(state).length;
  if (icon === "error") return `Error: ${state.error ?? "a route failed"}`;
  if (running === 0) return "No tunnel running";
  return `${running} tunnel${running === 1 ? "" : "s"} running${conflicts > 0 ? `, ${conflicts} conflict${conflicts === 1 ? "" : "s"}` : ""}`;
}

export function buildTrayMenu(state: AppState): MenuItem[] {
  const items: MenuItem[] = [{ id: "status", label: statusLine(state), enabled: false }, { id: "sep-status", type: "separator" }];
  for (const p of state.profiles) {
    items.push({
      id: `profile:${p.profile}`,
      label: `${p.profile}${p.nodeIp ? ` (${p.nodeIp})` : ""}: ${p.running ? p.phase : "stopped"}`,
      enabled: false,
    });
    items.push(
      p.running
        ? { id: `stop:${p.profile}`, label: "Stop tunnel", enabled: !state.busy, action: { type: "stop", profile: p.profile } }
        : { id: `start:${p.profile}`, label: "Start tunnel", enabled: !state.busy, action: { type: "start", profile: p.profile } },
    );
    for (const r of p.routes) items.push({ id: `route:${p.profile}:${r.cidr}`, label: `  ${r.cidr} → ${r.gateway}  ${r.state}`, enabled: false });
  }
  const conflicts = conflictsOf(state);
  items.push({ id: "sep-profiles", type: "separator" });
  items.push({ id: "conflicts", label: `Conflicts (${conflicts.length})…`, enabled: conflicts.length > 0, action: { type: "open-conflicts" } });
  const services = state.profiles.flatMap((p) => p.services.filter((s) => s.ingress.some((i) => i.ip)));
  items.push({
    id: "services",
    label: "Services with external IPs",
    type: "submenu",
    enabled: services.length > 0,
    submenu: services.flatMap((s) =>
      serviceEndpoints(s).map((endpoint): MenuItem => {
        const address = endpoint.address ?? "";
        const key = `${s.namespace}/${s.name}:${endpoint.port}`;
        return {
          id: `service:${key}`,
          label: `${s.namespace}/${s.name}  ${address}`,
          type: endpoint.url ? "submenu" : "normal",
          ...(endpoint.url
            ? { submenu: [
                { id: `copy:${key}`, label: "Copy address", action: { type: "copy", text: address } },
                { id: `open:${key}`, label: "Open in browser", action: { type: "open-url", url: endpoint.url } },
              ] }
            : { action: { type: "copy", text: address } }),
        };
      }),
    ),
  });
  items.push({ id: "cleanup", label: "Clean up stale tunnels", enabled: !state.busy, action: { type: "cleanup" } });
  items.push({ id: "sep-app", type: "separator" });
  items.push({ id: "open-window", label: "Open window…", action: { type: "open-window" } });
  items.push({ id: "preferences", label: "Preferences…", action: { type: "open-preferences" } });
  items.push({ id: "quit", label: "Quit", action: { type: "quit" } });
  return items;
}
