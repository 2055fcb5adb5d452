// Builds mktunnel-helper-service.exe, the Windows service program of the installed helper
// (src/helper/windows-service), with MinGW-w64's cross compiler. The package build (scripts/helper-runtimes.ts) and
// the Wine lab (test-support/wine-lab.ts) both call this, so what is tested is built exactly as what is shipped.
// It is compiled when the package is built, never committed as a binary: a reviewer reads the C, and the build says
// where the program came from. Needs x86_64-w64-mingw32-gcc (Debian: gcc-mingw-w64-x86-64; macOS: brew install
// mingw-w64; Windows: MSYS2's mingw-w64-x86_64-gcc).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export const MINGW_GCC = "x86_64-w64-mingw32-gcc";
export const SERVICE_HOST_DIR = join(import.meta.dirname, "..", "src", "helper", "windows-service");
/** The host's own main, and the parts a test harness (test-support/wine-service/host-check.c) links against too. */
export const SERVICE_HOST_MAIN = join(SERVICE_HOST_DIR, "service-host.c");
export const SERVICE_HOST_PARTS = ["command-line.c", "root-folder.c"].map((f) => join(SERVICE_HOST_DIR, f));
export const SERVICE_HOST_HEADERS = ["command-line.h", "root-folder.h"].map((f) => join(SERVICE_HOST_DIR, f));

/**
 * Every warning an error; no debug symbols; ASLR, high-entropy ASLR and DEP, as a program that runs as LocalSystem
 * should have; no link timestamp, so the same sources give the same bytes (the package's digests stay comparable).
 * Only system DLLs are imported (kernel32, advapi32, shell32, msvcrt): libgcc is linked in.
 */
export const SERVICE_HOST_FLAGS = [
  "-std=c11",
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-s",
  "-static-libgcc",
  "-Wl,--no-insert-timestamp,--dynamicbase,--high-entropy-va,--nxcompat",
];
const LIBRARIES = ["-ladvapi32", "-lshell32"];

export function mingwAvailable(): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, MINGW_GCC)));
}

/**
 * Compiles the host (or, with `main`, a test harness linked against its parts) to `out`, through a temporary file
 * renamed into place, so a parallel reader never sees half a program.
 */
export async function buildServiceHost(out: string, main: string = SERVICE_HOST_MAIN): Promise<void> {
  if (!mingwAvailable())
    throw new Error(
      `${MINGW_GCC} is needed to build the Windows service host (Debian: apt-get install gcc-mingw-w64-x86-64; macOS: brew install mingw-w64)`,
    );
  const temp = `${out}.${process.pid}.tmp`;
  try {
    await run(MINGW_GCC, [...SERVICE_HOST_FLAGS, "-o", temp, main, ...SERVICE_HOST_PARTS, ...LIBRARIES]);
    await rename(temp, out);
  } finally {
    await rm(temp, { force: true });
  }
}
