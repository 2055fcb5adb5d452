import { describe, expect, it } from "vitest";
import { helperLaunchFor } from "./helper-launch.js";

const digests = { files: "0".repeat(64) } as never;
const base = {
  miniPath: "/home/u/.minikube",
  registryPath: "/home/u/.minikube/tunnels.json",
  mode: "gui" as const,
  program: { runtime: "/app/helper/node", runtimeArgs: [], script: "/app/helper/helper-main.mjs" },
  digests,
  env: {},
};

describe("what a per-session helper runs", () => {
  it("from a package on macOS and Linux: root's staged copy, checked against the package's digests", () => {
    const launch = helperLaunchFor({ ...base, platform: "linux" });
    expect(launch.staged).toEqual({ digests, stageDir: "/run/minikube-tunnel/stage" });
  });

  it("on Windows: the program itself (no POSIX shell to stage with), its runtime directory under %ProgramData%", () => {
    const launch = helperLaunchFor({ ...base, platform: "win32", env: { ProgramData: "C:\\ProgramData" } });
    expect(launch.staged).toBeUndefined();
    expect(launch.runtime).toBe("/app/helper/node");
  });
});
