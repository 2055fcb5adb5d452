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
  readonly platform?: NodeJS.Platform;
}

export async function launchHelper(options: HelperLaunchOptions): Promise<HelperClient> {
  await mkdir(join(options.miniPath, "logs"), { recursive: true });
  return startHelper(helperLaunchFor(options), options.mode);
}

/** What to run for a per-session helper: the program, where its files go, and (outside Windows) the staged copy. */
export function helperLaunchFor(options: HelperLaunchOptions): HelperLaunch {
  const program = options.program ?? helperProgramBesideEngine();
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const runtimeDir = env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir(platform);
  return {
    ...program,
    runtimeDir,
    logFile: join(options.miniPath, "logs", options.logName ?? "mktunnel-helper.log"),
    registry: options.registryPath,
    // The staged copy is a POSIX shell script; on Windows the elevated account is the user's own (UAC), and the
    // helper judges the files it runs by their ACLs (src/helper/integrity.ts) instead.
    ...(options.digests && platform !== "win32"
      ? { staged: { digests: options.digests, stageDir: join(runtimeDir, "stage") } }
      : {}),
  };
}
