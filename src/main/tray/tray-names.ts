import type { AppState } from "../../shared/app-state.js";
import { nameEndpoints, namesOf } from "../../shared/name-address.js";
import type { MenuItem } from "./menu-item.js";

/**
 * The cluster's Ingress hosts and Gateway hostnames under Services in the tray (docs/architecture.md, "Ingress and
 * Gateway names"): a name that resolves here offers Copy and Open; one that does not says why, and copies the
 * `curl --resolve` line that reaches it all the same. At most `limit` items; the window has the rest.
 */
export function nameMenuItems(state: AppState, limit: number): { items: MenuItem[]; more: number } {
  const all = state.profiles.filter((p) => p.running).flatMap((p) => namesOf(p).map((n) => ({ profile: p, ...n })));
  const items = all.slice(0, Math.max(0, limit)).map(({ profile, kind, name }): MenuItem => {
    const key = `${profile.profile}:${kind}:${name.object}:${name.host}`;
    if (!name.mapped)
      return {
        id: `name:${key}`,
        label: `${name.host}  not mapped: ${name.reason ?? "unknown"}`,
        ...(name.curl ? { action: { type: "copy", text: name.curl } as const } : { enabled: false }),
      };
    const endpoints = nameEndpoints(name).filter((e) => e.copy !== null);
    const ports = name.ports.map((p) => p.port).join(", ");
    return {
      id: `name:${key}`,
      label: `${name.host}  ${name.address ?? ""} (${ports})`,
      type: "submenu",
      enabled: endpoints.length > 0,
      submenu: endpoints.flatMap((e): MenuItem[] => [
        { id: `copy:${key}:${e.port}`, label: `Copy ${e.copy}`, action: { type: "copy", text: e.copy! } },
        ...(e.url
          ? [{ id: `open:${key}:${e.port}`, label: `Open ${e.url}`, action: { type: "open-url", url: e.url } } as const]
          : []),
      ]),
    };
  });
  return { items, more: all.length - items.length };
}
