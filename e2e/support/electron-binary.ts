import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ELECTRON_DIR = join(import.meta.dirname, "..", "..", "node_modules", "electron");

/**
 * Where the Electron binary is, without triggering the electron package's
 * download-on-first-use (this machine has no internet): ELECTRON_BINARY,
 * else what `npm install electron` recorded in path.txt.
 */
export function electronBinaryPath(): string {
  if (process.env.ELECTRON_BINARY) return process.env.ELECTRON_BINARY;
  const pathFile = join(ELECTRON_DIR, "path.txt");
  const relative = existsSync(pathFile)
    ? readFileSync(pathFile, "utf8").trim()
    : process.platform === "win32"
      ? "electron.exe"
      : process.platform === "darwin"
        ? "Electron.app/Contents/MacOS/Electron"
        : "electron";
  return join(ELECTRON_DIR, "dist", relative);
}

/** Null when the specs can run; otherwise the one line saying why they are skipped. */
export function electronSkipReason(): string | null {
  const binary = electronBinaryPath();
  if (!existsSync(binary))
    return `skipped: no Electron binary at ${binary} (install one with network access: npx install-electron, or set ELECTRON_BINARY)`;
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
    return "skipped: Electron needs a display; run on a desktop or under xvfb-run";
  return null;
}
