import type { MenuItemConstructorOptions } from "electron";
import type { MenuAction, MenuItem } from "./tray-menu.js";

/** Turns the pure menu into Electron's template; every click goes through one action runner. */
export function toMenuTemplate(
  items: readonly MenuItem[],
  run: (action: MenuAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    if (item.type === "separator") return { id: item.id, type: "separator" };
    const action = item.action;
    return {
      id: item.id,
      label: item.label ?? "",
      enabled: item.enabled !== false,
      ...(item.submenu ? { submenu: toMenuTemplate(item.submenu, run) } : {}),
      ...(action ? { click: () => run(action) } : {}),
    };
  });
}
