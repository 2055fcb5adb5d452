import { Menu, Tray, nativeImage, nativeTheme, type NativeImage } from "electron";
import type { MenuAction } from "./tray-menu.js";
import { toMenuTemplate } from "./menu-template.js";
import { trayIconPath } from "./tray-icons.js";
import { TrayRenderer } from "./tray-renderer.js";

/**
 * The tray icon and its menu, drawn from the AppState (tray-renderer.ts
 * decides when to redraw). null where the desktop has no tray (GNOME without
 * the AppIndicator extension): the window then does everything.
 */
export function createAppTray(
  assetsDir: string,
  runAction: (action: MenuAction) => void,
): { renderer: TrayRenderer<NativeImage, Menu> | null; created: boolean } {
  const icon = (state: Parameters<typeof trayIconPath>[1]) =>
    nativeImage.createFromPath(trayIconPath(assetsDir, state, process.platform, nativeTheme.shouldUseDarkColors));
  let tray: Tray;
  try {
    tray = new Tray(icon("idle"));
    tray.setToolTip("Minikube Tunnel");
  } catch (error) {
    console.warn(`no system tray: ${(error as Error).message}`);
    return { renderer: null, created: false };
  }
  return {
    renderer: new TrayRenderer<NativeImage, Menu>(tray, {
      image: icon,
      menu: (items) => Menu.buildFromTemplate(toMenuTemplate(items, runAction)),
    }),
    created: true,
  };
}
