import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import type { Protocol } from "electron";
import { CONTENT_SECURITY_POLICY } from "../../shared/content-security-policy.js";
import { APP_ORIGIN } from "../../shared/ipc-contract.js";

export const APP_SCHEME = "app";
const APP_HOST = new URL(APP_ORIGIN).host;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/** Headers of every UI response: the CSP travels with the page, whatever serves it. */
export function uiResponseHeaders(contentType: string): Record<string, string> {
  return {
    "Content-Type": contentType,
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
  };
}

/**
 * Maps `app://minikube-tunnel/<path>` to a file under the built renderer.
 * Another host, an unknown file type, or a path that climbs out of the root
 * gets null (404): the protocol serves the UI bundle and nothing else.
 */
export function resolveUiFile(requestUrl: string, root: string): { file: string; contentType: string } | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.host !== APP_HOST) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    // A malformed escape such as %E0%A4%A names no file of ours.
    return null;
  }
  if (pathname.includes("\0")) return null;
  const relative = pathname === "/" || pathname === "" ? "index.html" : pathname.replace(/^\/+/, "");
  const file = normalize(join(root, relative));
  if (!file.startsWith(normalize(root) + sep)) return null;
  const contentType = TYPES[extname(file).toLowerCase()];
  return contentType ? { file, contentType } : null;
}

export async function uiResponse(
  requestUrl: string,
  root: string,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer | string }> {
  const resolved = resolveUiFile(requestUrl, root);
  if (!resolved) return { status: 404, headers: uiResponseHeaders("text/plain; charset=utf-8"), body: "not found" };
  try {
    return { status: 200, headers: uiResponseHeaders(resolved.contentType), body: await readFile(resolved.file) };
  } catch {
    return { status: 404, headers: uiResponseHeaders("text/plain; charset=utf-8"), body: "not found" };
  }
}

/** Must be called before `app` is ready, so app:// is a secure, standard origin. */
export const APP_SCHEME_PRIVILEGES = [
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
];

export function registerUiProtocol(protocol: Protocol, root: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const { status, headers, body } = await uiResponse(request.url, root);
    return new Response(typeof body === "string" ? body : new Uint8Array(body), { status, headers });
  });
}
