import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { type HelperProgram, helperProgramBesideEngine } from "../../engine/elevation/helper-launch.js";
import type { HelperDigests } from "../../engine/elevation/staged-launch.js";

/**
 * The packaged helper runs on the Node runtime shipped beside it in
 * resources/helper, not on the Electron binary: that lets the RunAsNode fuse
 * stay off (docs/security.md). From a checkout it runs on the Node ≥ 22 on PATH.
 */
export function appHelperProgram(
  isPackaged: boolean,
  resourcesPath: string,
  platform: NodeJS.Platform = process.platform,
  path = process.env.PATH ?? "",
): HelperProgram {
  if (isPackaged) {
    const dir = join(resourcesPath, "helper");
    return {
      runtime: join(dir, platform === "win32" ? "node.exe" : "node"),
      runtimeArgs: [],
      script: join(dir, "helper-main.mjs"),
    };
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

/** electron-builder's ${os}-${arch} for this machine: the key of the package's helper digests. */
export function targetTag(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  return `${platform === "darwin" ? "mac" : platform === "win32" ? "win" : "linux"}-${arch}`;
}

/**
 * The packaged app's digests of its helper (dist/helper-digests.json, inside
 * the archive), for root to check its copies against; null from a checkout
 * or on Windows, where the helper runs from Program Files as installed.
 */
export function packagedHelperDigests(
  isPackaged: boolean,
  appPath: string,
  platform: NodeJS.Platform = process.platform,
): HelperDigests | null {
  if (!isPackaged || platform === "win32") return null;
  const all = JSON.parse(readFileSync(join(appPath, "dist", "helper-digests.json"), "utf8")) as Record<
    string,
    HelperDigests
  >;
  const digests = all[targetTag(platform)];
  if (!digests) throw new Error(`this package has no helper digests for ${targetTag(platform)}`);
  return digests;
}
