import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { uiResponse } from "../../src/main/window/app-protocol.js";
import { APP_ORIGIN } from "../../src/shared/ipc-contract.js";

export const RENDERER_DIR = join(import.meta.dirname, "..", "..", "dist", "renderer");

/**
 * Serves the built renderer on loopback through the app:// protocol's own
 * handler (same files, same CSP header), so Chromium sees what Electron would.
 */
export async function startUiServer(): Promise<{ url: string; close(): Promise<void> }> {
  if (!existsSync(join(RENDERER_DIR, "index.html")))
    throw new Error(`no built renderer at ${RENDERER_DIR}: run "npm run build:renderer" first (npm test does)`);
  const server: Server = createServer((request, response) => {
    void uiResponse(`${APP_ORIGIN}${request.url ?? "/"}`, RENDERER_DIR).then(({ status, headers, body }) => {
      response.writeHead(status, headers);
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
