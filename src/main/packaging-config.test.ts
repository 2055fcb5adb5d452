import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = join(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);

async function builderConfig(): Promise<Record<string, any>> {
  return parse(await readFile(join(root, "electron-builder.yml"), "utf8"));
}

describe("electron-builder.yml", () => {
  it("passes electron-builder's own schema validation", async () => {
    const { validateConfiguration } = require("app-builder-lib/out/util/config/config.js");
    const { DebugLogger } = require("builder-util/out/DebugLogger.js");
    await expect(validateConfiguration(await builderConfig(), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it("a typo is caught by the same validation (so the check above can fail)", async () => {
    const { validateConfiguration } = require("app-builder-lib/out/util/config/config.js");
    const { DebugLogger } = require("builder-util/out/DebugLogger.js");
    await expect(
      validateConfiguration({ ...(await builderConfig()), linux: { targett: ["AppImage"] } }, new DebugLogger(false)),
    ).rejects.toThrow(/configuration.linux should be/);
  });

  it("targets AppImage, deb, dmg without a Dock icon, and nsis", async () => {
    const config = await builderConfig();
    expect(config.linux.target).toEqual(["AppImage", "deb"]);
    expect(config.mac).toMatchObject({ target: "dmg", extendInfo: { LSUIElement: true } });
    expect(config.win.target).toBe("nsis");
  });

  it("fuses: Electron never runs as Node; the helper ships unpacked with its own runtime", async () => {
    const config = await builderConfig();
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
    });
    const resources = config.extraResources.map((r: { to: string }) => r.to);
    expect(resources).toEqual(expect.arrayContaining(["helper/helper-main.mjs", "helper/", "helper/node_modules/"]));
    // The runtime and native packages are the target's own, never the build machine's.
    const from = config.extraResources.map((r: { from: string }) => r.from);
    expect(from).toEqual(
      expect.arrayContaining([
        "build/helper-runtime/${os}-${arch}/",
        "build/helper-modules/${os}-${arch}/node_modules/",
      ]),
    );
    expect(from.some((f: string) => f.startsWith("node_modules/node"))).toBe(false);
    expect(config.files).toContain("dist/helper-digests.json");
    // The same layout the app looks for at run time (appHelperProgram).
    const { appHelperProgram } = await import("./helper/helper-program.js");
    expect(appHelperProgram(true, "/opt/mt/resources", "linux")).toEqual({
      runtime: "/opt/mt/resources/helper/node",
      runtimeArgs: [],
      script: "/opt/mt/resources/helper/helper-main.mjs",
    });
  });

  it("every target gets its runtime from nodejs.org under its own name, and the app finds the digests under electron-builder's ${os}-${arch}", async () => {
    const { TARGETS, nodeArchive, nodeUrl } = await import("../../scripts/helper-runtimes.js");
    const { targetTag } = await import("./helper/helper-program.js");
    expect(TARGETS.map((t) => t.tag)).toEqual(["mac-x64", "mac-arm64", "linux-x64", "linux-arm64", "win-x64"]);
    expect(nodeUrl("22.23.3", nodeArchive("22.23.3", TARGETS[1]))).toBe(
      "https://nodejs.org/dist/v22.23.3/node-v22.23.3-darwin-arm64.tar.gz",
    );
    expect(nodeArchive("22.23.3", TARGETS[4])).toBe("node-v22.23.3-win-x64.zip");
    expect([targetTag("darwin", "arm64"), targetTag("linux", "x64"), targetTag("win32", "x64")]).toEqual([
      "mac-arm64",
      "linux-x64",
      "win-x64",
    ]);
  });

  it("the package's mktunnel is the bundle, with the helper bundle beside it, so `sudo mktunnel helper install` works from an installed CLI", async () => {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8"));
    const outdir = /--outdir=(\S+)/.exec(pkg.scripts["build:bundles"])?.[1];
    expect(pkg.bin.mktunnel).toBe(`${outdir}/mktunnel.mjs`);
    expect(pkg.scripts["build:bundles"]).toContain("src/helper/helper-main.ts");
    expect(pkg.scripts.build).toContain("npm run build:bundles");
    expect(pkg.files).toContain("dist");
  });

  it("the icons it names exist", async () => {
    const config = await builderConfig();
    for (const icon of [config.linux.icon, config.mac.icon, config.win.icon])
      expect(existsSync(join(root, icon)), icon).toBe(true);
  });
});
