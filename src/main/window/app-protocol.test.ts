import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../shared/content-security-policy.js";
import { resolveUiFile, uiResponse } from "./app-protocol.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mkt-ui-"));
  await mkdir(join(root, "assets"));
  await writeFile(join(root, "index.html"), "<!doctype html>");
  await writeFile(join(root, "assets", "index-abc.js"), "export {}");
  await writeFile(join(tmpdir(), "mkt-ui-outside.html"), "secret");
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(join(tmpdir(), "mkt-ui-outside.html"), { force: true });
});

describe("app:// protocol for the UI", () => {
  it("serves the bundle with the CSP header", async () => {
    expect(resolveUiFile("app://minikube-tunnel/", root)?.file).toBe(join(root, "index.html"));
    const js = await uiResponse("app://minikube-tunnel/assets/index-abc.js", root);
    expect(js.status).toBe(200);
    expect(js.headers).toMatchObject({
      "Content-Type": "text/javascript; charset=utf-8",
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    });
  });

  it("refuses other hosts, climbing out of the root, NUL bytes and unknown file types", async () => {
    for (const url of [
      "app://evil/index.html",
      "app://minikube-tunnel/..%2fmkt-ui-outside.html",
      "app://minikube-tunnel/index.html%00.js",
      "app://minikube-tunnel/run.sh",
      "not a url",
    ]) {
      expect(resolveUiFile(url, root), url).toBeNull();
    }
    // The URL parser folds these dot segments itself; what is left must still be inside the root.
    for (const url of [
      "app://minikube-tunnel/../mkt-ui-outside.html",
      "app://minikube-tunnel/%2e%2e/mkt-ui-outside.html",
    ]) {
      expect(resolveUiFile(url, root)?.file.startsWith(root + sep), url).toBe(true);
      expect((await uiResponse(url, root)).status, url).toBe(404);
    }
    expect((await uiResponse("app://minikube-tunnel/missing.js", root)).status).toBe(404);
  });

  it("answers 404 to a malformed escape instead of throwing", async () => {
    for (const url of ["app://minikube-tunnel/%E0%A4%A", "app://minikube-tunnel/%", "app://minikube-tunnel/a%zz.js"]) {
      expect(() => resolveUiFile(url, root), url).not.toThrow();
      expect((await uiResponse(url, root)).status, url).toBe(404);
    }
  });
});
