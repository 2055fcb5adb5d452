/** The part of Electron's Session that decides permissions. */
export interface PermissionSession {
  setPermissionRequestHandler(
    handler: ((webContents: unknown, permission: string, callback: (granted: boolean) => void) => void) | null,
  ): void;
  setPermissionCheckHandler(handler: ((webContents: unknown, permission: string) => boolean) | null): void;
  setDevicePermissionHandler?(handler: ((details: unknown) => boolean) | null): void;
}

/**
 * Electron grants every permission request by default (camera, microphone,
 * notifications, geolocation, clipboard reads, HID/USB/serial devices…).
 * Our window needs none of them, so all are refused, and each request is
 * logged: a page asking for one is a sign something is wrong.
 */
export function denyAllPermissions(
  session: PermissionSession,
  onRequest: (permission: string) => void = () => undefined,
): void {
  session.setPermissionRequestHandler((_webContents, permission, callback) => {
    onRequest(permission);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler?.(() => false);
}
