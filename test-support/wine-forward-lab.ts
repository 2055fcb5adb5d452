import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually } from "./eventually.js";
import type { WineLab } from "./wine-lab.js";

/** Waits for exit, not for closed pipes: a server that forks into the background keeps inherited ones open. */
function runToExit(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: "ignore", timeout: 60_000, killSignal: "SIGKILL" });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`${file} ${args.join(" ")} ended with ${signal ?? `exit code ${code}`}`)),
    );
  });
}

/**
 * Ends the lab's Wine server, and with it every Windows process of the lab
 * (services.exe included, which reads its services' environment once), and
 * starts a new one for the same prefix: inside network namespace `ns` when
 * given. Wine opens every socket in its server (`\Device\Afd` is the
 * server's), so the namespace of `wineserver` is the one all of the lab's
 * Windows programs see, wherever wine64 itself was started.
 */
export async function restartWineServer(lab: WineLab, ns?: string): Promise<void> {
  const wineserver = ["/usr/lib/wine/wineserver", "/usr/bin/wineserver"].find((path) => existsSync(path));
  if (!wineserver) throw new Error("wineserver is not installed");
  const env = { PATH: "/usr/bin:/bin", HOME: join(lab.dir, "home"), WINEPREFIX: lab.prefix, WINEDEBUG: "-all" };
  await runToExit(wineserver, ["-k"], env).catch(() => undefined);
  await runToExit(wineserver, ["-w"], env);
  // -p: it stays for the lab's life (WineLab.destroy ends it); it forks into the background, so this returns.
  await runToExit(ns ? "ip" : wineserver, ns ? ["netns", "exec", ns, wineserver, "-p"] : ["-p"], env);
}

export type TunnelEvent = Record<string, unknown> & { event: string };

/** `mktunnel start` running under Wine through wine-cli-start-driver.mjs, on a console of its own. */
export interface WineTunnel {
  readonly pid: number;
  events(): Promise<TunnelEvent[]>;
  waitFor(test: (e: TunnelEvent) => boolean, what: string, timeoutMs?: number): Promise<TunnelEvent>;
  /** Ctrl+C on its console; answers its exit code. */
  ctrlC(): Promise<string>;
  /** Its stderr so far. */
  stderr(): Promise<string>;
}

let starts = 0;

/** Starts `mktunnel start --json <args>` in the lab (its CLI installed), with `env` for the Windows side. */
export async function startWineTunnel(
  lab: WineLab,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<WineTunnel> {
  const folder = join(lab.drive, `forward-start-${++starts}`);
  await mkdir(folder);
  const driverWin = "D:\\mkt\\wine-cli-start-driver.mjs";
  if (!existsSync(lab.unixPath(driverWin)))
    await copyFile(join(import.meta.dirname, "wine-cli-start-driver.mjs"), lab.unixPath(driverWin));
  const driver = lab.node([driverWin, lab.windowsPath(folder), "start", "--json", ...args], {
    env,
    timeoutMs: 600_000,
  });
  driver.catch(() => undefined);
  const file = (name: string) => readFile(join(folder, name), "utf8").catch(() => "");
  const pid = Number(await eventually(() => file("pid"), { timeoutMs: 60_000, what: "the driver to start mktunnel" }));
  const events = async () =>
    (await file("out"))
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as TunnelEvent);
  return {
    pid,
    events,
    stderr: () => file("err"),
    waitFor: (test, what, timeoutMs = 60_000) =>
      eventually(
        async () => {
          if (existsSync(join(folder, "exit")))
            throw new Error(`mktunnel start exited while waiting for ${what}: ${await file("err")}`);
          return (await events()).find(test) ?? null;
        },
        { timeoutMs, what },
      ),
    ctrlC: async () => {
      await writeFile(join(folder, "ctrl-c"), "");
      return eventually(() => file("exit"), { timeoutMs: 60_000, what: "mktunnel start to exit" }).catch(
        async (error: Error) => {
          throw new Error(
            `${error.message}; GenerateConsoleCtrlEvent answered ${(await file("ctrl-c-sent")) || "(not yet)"}; stderr: ${await file("err")}`,
          );
        },
      );
    },
  };
}
