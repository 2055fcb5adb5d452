import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { type HelperProgram, helperProgramBesideEngine } from "../engine/privileged/helper-launch.js";

/**
 * The packaged helper runs on the Node runtime shipped beside it in
 * resources/helper, not on the Electron binary: that lets the RunAsNode fuse
 * stay off (docs/security.md). From a checkout it runs on the Node ≥ 22 on PATH.
 */
export function appHelperProgram(isPackaged: boolean, resourcesPath: string, platform: NodeJS.Platform = process.platform, path = process.env.PATH ?? ""): HelperProgram {
  if (isPackaged) {
    const dir = join(resourcesPath, "helper");
    return { runtime: join(dir, platform === "win32" ? "node.exe" : "node"), runtimeArgs: [], script: join(dir, "helper-main.mjs") };
  }
  return helperProgramBesideEngine(findOnPath("node", path) ?? "node");
}

function findOnPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}
