import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultRuntimeDir, type ElevationMode, type HelperLaunch, startHelper } from "../engine/helper-client/elevation.js";
import type { HelperClient } from "../engine/helper-client/helper-client.js";

/** Where the helper script is: beside the CLI when built, or the TypeScript source when run through tsx. */
function helperScript(): { script: string; runtimeArgs: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith(".ts");
  return { script: join(dirname(here), "..", "helper", fromSource ? "helper-main.ts" : "helper-main.js"), runtimeArgs: fromSource ? ["--import", "tsx"] : [] };
}

/**
 * Root starts the helper directly; anyone else goes through sudo, which asks for the password once.
 * MKTUNNEL_RUNTIME_DIR moves the socket directory (the helper still insists it is root-owned).
 */
/** Root starts the helper directly; anyone else goes through sudo, which asks for the password once. */
export async function launchHelperForCli(miniPath: string, registryPath: string): Promise<HelperClient> {
  const logDir = join(miniPath, "logs");
  await mkdir(logDir, { recursive: true });
  const { script, runtimeArgs } = helperScript();
  const launch: HelperLaunch = { runtime: process.execPath, runtimeArgs, script, runtimeDir: process.env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir(), logFile: join(logDir, "mktunnel-helper.log"), registry: registryPath };
  const mode: ElevationMode = process.getuid?.() === 0 ? "direct" : "sudo";
  return startHelper(launch, mode);
}
