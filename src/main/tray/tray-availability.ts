/**
 * GNOME shows no tray icons without the AppIndicator extension, and Electron
 * cannot tell whether one is showing. So on GNOME the window opens at launch
 * too, and every tray action is also in the window (docs/architecture.md, "The tray app").
 */
export function shouldOpenWindowAtLaunch(env: {
  platform: NodeJS.Platform;
  trayCreated: boolean;
  desktop: string;
}): boolean {
  if (!env.trayCreated) return true;
  return env.platform === "linux" && /gnome/i.test(env.desktop);
}
