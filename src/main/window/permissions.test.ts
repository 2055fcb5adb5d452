import { describe, expect, it } from "vitest";
import { session } from "../../../test-support/electron-fake/electron.js";
import { denyAllPermissions } from "./permissions.js";

const PERMISSIONS = [
  "media",
  "geolocation",
  "notifications",
  "midi",
  "midiSysex",
  "pointerLock",
  "fullscreen",
  "openExternal",
  "clipboard-read",
  "clipboard-sanitized-write",
  "display-capture",
  "hid",
  "serial",
  "usb",
  "idle-detection",
  "window-management",
  "unknown",
];

describe("permissions", () => {
  it("Electron's default grants what a page asks for; after denyAllPermissions every request and check is refused", async () => {
    const s = session.fromPartition(`test-${Math.random()}`);
    expect(await s.request("media")).toBe(true);
    const asked: string[] = [];
    denyAllPermissions(s, (p) => asked.push(p));
    for (const permission of PERMISSIONS) {
      expect(await s.request(permission), permission).toBe(false);
      expect(s.check(permission), permission).toBe(false);
    }
    expect(s.device()).toBe(false);
    expect(asked).toEqual(PERMISSIONS);
  });
});
