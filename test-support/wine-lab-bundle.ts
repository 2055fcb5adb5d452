import { join } from "node:path";
import { build, stop } from "esbuild";
import type { WineLab } from "./wine-lab.js";

/**
 * A test's own entry (a Windows-side driver such as wine-lab-helper-proc.ts), bundled as bundles.ts bundles the
 * product's, to D:\mkt beside the CLI and the koffi it loads. Answers its Windows path.
 */
export async function bundleForLab(lab: WineLab, entry: string, name: string): Promise<string> {
  await lab.installCli();
  const outfile = join(lab.drive, "mkt", `${name}.mjs`);
  // esbuild's service process would outlive the test file (which fails a file that leaves a process): stopped after.
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    external: ["koffi", "cpu-features", "*.node"],
    // CommonJS dependencies expect require and __dirname, as in bundles.ts.
    banner: {
      js: "import { createRequire as __mktCreateRequire } from 'node:module'; import { fileURLToPath as __mktPath } from 'node:url'; import { dirname as __mktDir } from 'node:path'; const require = __mktCreateRequire(import.meta.url); const __filename = __mktPath(import.meta.url); const __dirname = __mktDir(__filename);",
    },
    logLevel: "warning",
  }).finally(() => stop());
  return lab.windowsPath(outfile);
}
