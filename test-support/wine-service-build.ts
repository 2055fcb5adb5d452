import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  SERVICE_HOST_FLAGS,
  SERVICE_HOST_HEADERS,
  SERVICE_HOST_MAIN,
  SERVICE_HOST_PARTS,
  buildServiceHost,
} from "../scripts/windows-service-host.js";

const BUILD_DIR = join(import.meta.dirname, ".build", "win", "service");
/** The C unit tests' harness: linked against the host's parts (command-line.c, root-folder.c), without its main. */
export const HOST_CHECK_MAIN = join(import.meta.dirname, "wine-service", "host-check.c");

const building = new Map<string, Promise<string>>();

/**
 * mktunnel-helper-service.exe (or, with `main`, a harness linked against its parts) built by the package's own
 * buildServiceHost, so the lab runs the program that is shipped. Cached under test-support/.build beside the fake tools,
 * and built again when a source, a header or a flag changes.
 */
export function serviceHostExe(main: string = SERVICE_HOST_MAIN): Promise<string> {
  let pending = building.get(main);
  if (!pending) {
    pending = build(main);
    building.set(main, pending);
    pending.catch(() => building.delete(main));
  }
  return pending;
}

async function build(main: string): Promise<string> {
  await mkdir(BUILD_DIR, { recursive: true });
  const exe = join(
    BUILD_DIR,
    main === SERVICE_HOST_MAIN ? "mktunnel-helper-service.exe" : `${basename(main, ".c")}.exe`,
  );
  const hash = createHash("sha256").update(SERVICE_HOST_FLAGS.join(" "));
  for (const file of [main, ...SERVICE_HOST_PARTS, ...SERVICE_HOST_HEADERS])
    hash.update(file).update(await readFile(file));
  const stamp = hash.digest("hex");
  if (existsSync(exe) && (await readFile(`${exe}.sha256`, "utf8").catch(() => "")) === stamp) return exe;
  await buildServiceHost(exe, main);
  await writeFile(`${exe}.sha256`, stamp);
  return exe;
}
