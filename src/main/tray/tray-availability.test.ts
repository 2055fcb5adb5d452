import { describe, expect, it } from "vitest";
import { shouldOpenWindowAtLaunch } from "./tray-availability.js";

describe("window at launch when the tray may be missing", () => {
  it("opens on GNOME (no tray without AppIndicator) and wherever the tray failed", () => {
    expect(shouldOpenWindowAtLaunch({ platform: "linux", trayCreated: true, desktop: "ubuntu:GNOME" })).toBe(true);
    expect(shouldOpenWindowAtLaunch({ platform: "linux", trayCreated: false, desktop: "KDE" })).toBe(true);
  });
  it("stays in the tray on KDE, macOS and Windows", () => {
    expect(shouldOpenWindowAtLaunch({ platform: "linux", trayCreated: true, desktop: "KDE" })).toBe(false);
    expect(shouldOpenWindowAtLaunch({ platform: "darwin", trayCreated: true, desktop: "" })).toBe(false);
    expect(shouldOpenWindowAtLaunch({ platform: "win32", trayCreated: true, desktop: "" })).toBe(false);
  });
});
