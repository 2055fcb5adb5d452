import koffi from "koffi";

let windowsAdmin: boolean | null = null;

/**
 * Whether this process may change routes, names and system files itself:
 * root on POSIX, an elevated Administrator token on Windows (shell32's
 * IsUserAnAdmin, which is true only when the token is elevated under UAC).
 * Everyone else asks the helper.
 */
export function isElevated(platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== "win32") return process.getuid?.() === 0;
  if (windowsAdmin === null) {
    try {
      const isUserAnAdmin = koffi.load("shell32.dll").func("__stdcall", "IsUserAnAdmin", "bool", []) as () => boolean;
      windowsAdmin = isUserAnAdmin();
    } catch {
      windowsAdmin = false;
    }
  }
  return windowsAdmin;
}
