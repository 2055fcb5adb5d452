import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultRuntimeDir, type ElevationMode, type HelperLaunch, startHelper } from "./elevation.js";
import type { HelperClient } from "./helper-client.js";
import type { HelperDigests } from "./staged-launch.js";

/** What runs the helper: a Node ≥ 22 runtime, the script, and any runtime flags before it. */
export interface HelperProgram {
  readonly runtime: string;
  readonly runtimeArgs: readonly string[];
  readonly script: string;
}

/**
 * The helper beside this engine: the built JavaScript, the TypeScript source
 * when run through tsx, or, for a bundled engine (one .mjs file), the
 * helper bundle in the same directory.
 */
export function helperProgramBesideEngine(runtime = process.execPath): HelperProgram {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".mjs")) return { runtime, runtimeArgs: [], script: join(dirname(here), "helper-main.mjs") };
  const fromSource = here.endsWith(".ts");
  return {
    runtime,
    runtimeArgs: fromSource ? ["--import", "tsx"] : [],
    script: join(dirname(here), "..", "..", "helper", fromSource ? "helper-main.ts" : "helper-main.js"),
  };
}

export interface HelperLaunchOptions {
  readonly miniPath: string;
  readonly registryPath: string;
  readonly mode: ElevationMode;
  readonly program?: HelperProgram;
  /** Log file name under MINIPATH/logs. */
  readonly logName?: string;
  /** MKTUNNEL_RUNTIME_DIR moves the socket directory (the helper still insists it is root-owned). */
  readonly env?: NodeJS.ProcessEnv;
  /** The package's digests of the helper's files: root copies and checks them before running (an app the user owns). */
  readonly digests?: HelperDigests;
}

export async function launchHelper(options: HelperLaunchOptions): Promise<HelperClient> {
  const logDir = join(options.miniPath, "logs");
  await mkdir(logDir, { recursive: true });
  const program = options.program ?? helperProgramBesideEngine();
  const env = options.env ?? process.env;
  const launch: HelperLaunch = {
    ...program,
    runtimeDir: env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir(),
    logFile: join(logDir, options.logName ?? "mktunnel-helper.log"),
    registry: options.registryPath,
    ...(options.digests
      ? {
          staged: {
            digests: options.digests,
            stageDir: join(env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir(), "stage"),
          },
        }
      : {}),
  };
  return startHelper(launch, options.mode);
}
