import { chmod, copyFile, cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const ROOT = join(import.meta.dirname, "..");
/** Inside the checkout, so the bundles resolve node_modules (koffi's native part) like the sources do. */
export const BUNDLE_DIR = join(ROOT, "test-support", ".build");

const ENTRIES = {
  mktunnel: "src/cli/mktunnel.ts",
  // helper-launch looks for the helper beside a bundled engine, as in the packaged app.
  "helper-main": "src/helper/helper-main.ts",
  "helper-client-proc": "test-support/helper-client-proc.ts",
  "forward-user-proc": "test-support/forward-user-proc.ts",
  "helper-channel-proc": "test-support/helper-channel-proc.ts",
  "forward-bench-proc": "bench/forward-proc.ts",
  "kube-sim-serve": "test-support/kube-sim/serve.ts",
  "minikube-registry-writer": "test-support/minikube-registry-writer.ts",
  "registry-worker": "test-support/registry-worker.ts",
} as const;

export type BundleName = keyof typeof ENTRIES;

/** Path of a bundle built by the test run's global setup: starts in a fraction of tsx's time, and needs no loader. */
export function bundled(name: BundleName): string {
  return join(BUNDLE_DIR, `${name}.mjs`);
}

export async function buildBundles(): Promise<void> {
  await mkdir(BUNDLE_DIR, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, entry]) => [name, join(ROOT, entry)])),
    outdir: BUNDLE_DIR,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    // ssh2 loads its optional native crypto in a try; without it Node's own crypto does the work.
    external: ["koffi", "cpu-features", "*.node"],
    // CommonJS dependencies (ssh2) expect require and __dirname.
    banner: {
      js: "import { createRequire as __mktCreateRequire } from 'node:module'; import { fileURLToPath as __mktPath } from 'node:url'; import { dirname as __mktDir } from 'node:path'; const require = __mktCreateRequire(import.meta.url); const __filename = __mktPath(import.meta.url); const __dirname = __mktDir(__filename);",
    },
    logLevel: "warning",
  });
}

/**
 * A copy of a bundle and of this Node runtime in a fresh directory anyone can
 * read, for code a test runs as another user: the checkout itself may sit
 * under a private directory (CI systems often clone into one made by mktemp -d).
 */
export async function portableCopy(
  name: BundleName,
): Promise<{ node: string; script: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mkt-portable-"));
  await chmod(dir, 0o755);
  const node = join(dir, "node");
  const script = join(dir, `${name}.mjs`);
  await copyFile(process.execPath, node);
  await chmod(node, 0o755);
  await copyFile(bundled(name), script);
  await chmod(script, 0o644);
  // The packages bundles leave external go beside them, as the installed helper has them (helper-installer.ts).
  for (const pkg of ["koffi", `@koromix/koffi-${process.platform}-${process.arch}`])
    await cp(join(ROOT, "node_modules", pkg), join(dir, "node_modules", pkg), { recursive: true });
  await chmod(join(dir, "node_modules"), 0o755);
  return { node, script, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
