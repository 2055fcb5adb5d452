import { join } from "node:path";
import type { TrayIconState } from "../../shared/app-state.js";

export const TRAY_STATES: readonly TrayIconState[] = ["idle", "active", "degraded", "conflict", "error"];
export type TrayIconVariant = "light" | "dark" | "template";

/** File names as Electron expects them: `@2x` beside the 1x file, `Template` for macOS menu-bar images. */
export function trayIconName(state: TrayIconState, variant: TrayIconVariant, scale: 1 | 2 = 1): string {
  const suffix = scale === 2 ? "@2x" : "";
  return variant === "template" ? `${state}Template${suffix}.png` : `${state}-${variant}${suffix}.png`;
}

/** macOS tints template images itself; elsewhere the theme picks light or dark ink. */
export function trayIconPath(
  assetsDir: string,
  state: TrayIconState,
  platform: NodeJS.Platform,
  darkTheme: boolean,
): string {
  const variant: TrayIconVariant = platform === "darwin" ? "template" : darkTheme ? "dark" : "light";
  return join(assetsDir, "tray", trayIconName(state, variant));
}
