import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";
import { CONTENT_SECURITY_POLICY_META } from "./src/shared/content-security-policy.js";

/** index.html carries the same CSP that the app:// protocol sends as a header. */
function contentSecurityPolicy(): Plugin {
  return {
    name: "content-security-policy",
    transformIndexHtml: (html) => html.replace("%CONTENT_SECURITY_POLICY%", CONTENT_SECURITY_POLICY_META),
  };
}

// React through esbuild's automatic JSX runtime: @vitejs/plugin-react is not needed for a production build.
export default defineConfig({
  root: resolve(import.meta.dirname, "src/renderer"),
  base: "./",
  plugins: [contentSecurityPolicy()],
  esbuild: { jsx: "automatic" },
  build: {
    outDir: resolve(import.meta.dirname, "dist/renderer"),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    target: "chrome130",
    sourcemap: true,
    rollupOptions: {
      // zod's "@__PURE__" comments sit where Rollup cannot use them; harmless, and not ours to fix.
      onwarn(warning, warn) {
        if (warning.code === "INVALID_ANNOTATION" && warning.id?.includes("node_modules")) return;
        warn(warning);
      },
    },
  },
});
