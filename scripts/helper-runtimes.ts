// Before `electron-builder`: the helper's Node runtime and native packages for every target, from their
// publishers (nodejs.org, npm), checked against the publishers' checksums, and the digests the app
// embeds in its archive so root can check the files before running them (docs/security.md).
// Windows also gets the helper's service host (mktunnel-helper-service.exe), compiled here from
// src/helper/windows-service with MinGW-w64 (scripts/windows-service-host.ts). Needs network access; `npm run dist` runs it.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { treeDigest } from "../src/engine/elevation/staged-launch.js";
import { SERVICE_HOST_EXE } from "../src/engine/elevation/daemon-definitions.js";
import { MINGW_GCC, buildServiceHost, mingwAvailable } from "./windows-service-host.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");

/** electron-builder's ${os}-${arch} names, and Node's and koffi's names for the same machine. */
export const TARGETS = [
  { tag: "mac-x64", node: "darwin-x64", koffi: "darwin-x64", exe: "node" },
  { tag: "mac-arm64", node: "darwin-arm64", koffi: "darwin-arm64", exe: "node" },
  { tag: "linux-x64", node: "linux-x64", koffi: "linux-x64", exe: "node" },
  { tag: "linux-arm64", node: "linux-arm64", koffi: "linux-arm64", exe: "node" },
  { tag: "win-x64", node: "win-x64", koffi: "win32-x64", exe: "node.exe" },
] as const;

export function nodeArchive(version: string, target: (typeof TARGETS)[number]): string {
  return target.node.startsWith("win")
    ? `node-v${version}-${target.node}.zip`
    : `node-v${version}-${target.node}.tar.gz`;
}

export function nodeUrl(version: string, file: string): string {
  return `https://nodejs.org/dist/v${version}/${file}`;
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

async function main(): Promise<void> {
  const version = (await import(join(root, "node_modules", "node", "package.json"), { with: { type: "json" } })).default
    .version as string;
  const koffiVersion = (await import(join(root, "node_modules", "koffi", "package.json"), { with: { type: "json" } }))
    .default.version as string;
  // Before any download: a Windows package without its service host would install a service that cannot start.
  if (!mingwAvailable())
    throw new Error(
      `${MINGW_GCC} is needed to build the Windows helper's ${SERVICE_HOST_EXE} (Debian/Ubuntu: apt-get install gcc-mingw-w64-x86-64; macOS: brew install mingw-w64; Windows: MSYS2's mingw-w64-x86_64-gcc)`,
    );
  const sums = await download(nodeUrl(version, "SHASUMS256.txt")).then((b) => b.toString());
  const digests: Record<string, { tree: string }> = {};
  for (const target of TARGETS) {
    const out = join(root, "build", "helper-runtime", target.tag);
    const modules = join(root, "build", "helper-modules", target.tag, "node_modules");
    await rm(out, { recursive: true, force: true });
    await rm(modules, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const file = nodeArchive(version, target);
    const archive = await download(nodeUrl(version, file));
    const expected = sums
      .split("\n")
      .find((l) => l.endsWith(`  ${file}`))
      ?.split(/\s+/)[0];
    if (createHash("sha256").update(archive).digest("hex") !== expected)
      throw new Error(`${file} does not match nodejs.org's SHASUMS256.txt`);
    const work = await mkdtemp(join(tmpdir(), "helper-runtime-"));
    await writeFile(join(work, file), archive);
    if (file.endsWith(".zip")) await run("unzip", ["-q", join(work, file), "-d", work]);
    else await run("tar", ["-xzf", join(work, file), "-C", work]);
    const base = file.replace(/\.(zip|tar\.gz)$/, "");
    await rename(
      target.exe === "node.exe" ? join(work, base, "node.exe") : join(work, base, "bin", "node"),
      join(out, target.exe),
    );
    // koffi and its prebuilt for this machine, as npm publishes them (npm pack checks the registry's integrity).
    for (const pkg of ["koffi", `@koromix/koffi-${target.koffi}`]) {
      const { stdout } = await run("npm", ["pack", `${pkg}@${koffiVersion}`, "--silent", "--pack-destination", work]);
      const tgz = join(work, stdout.trim().split("\n").pop()!);
      const dest = join(modules, pkg);
      await mkdir(dest, { recursive: true });
      await run("tar", ["-xzf", tgz, "-C", dest, "--strip-components=1"]);
    }
    await rm(work, { recursive: true, force: true });
    // Windows: the program the SCM runs, beside node.exe and the CLI (helper-installer.ts takes it from there).
    if (target.exe === "node.exe") await buildServiceHost(join(out, SERVICE_HOST_EXE));
    // The helper directory exactly as the package lays it out (electron-builder.yml's extraResources).
    const layout = join(root, "build", "helper-layout", target.tag);
    await rm(layout, { recursive: true, force: true });
    await mkdir(layout, { recursive: true });
    for (const file of await readdir(out)) await cp(join(out, file), join(layout, file));
    for (const bundle of ["helper-main.mjs", "mktunnel.mjs"])
      await cp(join(root, "dist", "helper-bundle", bundle), join(layout, bundle));
    await cp(modules, join(layout, "node_modules"), { recursive: true });
    digests[target.tag] = { tree: await treeDigest(layout) };
    console.log(`${target.tag}: ${(await readdir(out)).join(", ")}, koffi ${koffiVersion}`);
  }
  await writeFile(join(root, "dist", "helper-digests.json"), `${JSON.stringify(digests, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
