import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TRAY_STATES, trayIconName, trayIconPath } from "./tray-icons.js";

const assets = join(import.meta.dirname, "..", "..", "..", "assets");

describe("tray icons", () => {
  it("one PNG per state, for light and dark themes and as macOS template, at 1x and 2x", async () => {
    for (const state of TRAY_STATES) {
      for (const variant of ["light", "dark", "template"] as const) {
        for (const scale of [1, 2] as const) {
          const png = await readFile(join(assets, "tray", trayIconName(state, variant, scale)));
          expect(png.subarray(1, 4).toString("ascii")).toBe("PNG");
          expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([16 * scale, 16 * scale]);
        }
      }
    }
  });

  it("macOS gets template images; other systems follow the theme", () => {
    expect(trayIconPath("/a", "conflict", "darwin", true)).toBe(join("/a", "tray", "conflictTemplate.png"));
    expect(trayIconPath("/a", "active", "linux", true)).toBe(join("/a", "tray", "active-dark.png"));
    expect(trayIconPath("/a", "error", "win32", false)).toBe(join("/a", "tray", "error-light.png"));
  });
});
