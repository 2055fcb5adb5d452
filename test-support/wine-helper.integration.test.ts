import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_HOST_EXE } from "../src/engine/elevation/daemon-definitions.js";
import { DAEMON_NAME } from "../src/engine/elevation/helper-layout.js";
import { eventually } from "./eventually.js";
import { restartWineServer } from "./wine-forward-lab.js";
import { bundleForLab } from "./wine-lab-bundle.js";
import { TOOLS_WIN, WineLab, releaseWineTemplate, wineLabUnavailableReason } from "./wine-lab.js";
import { HYPERV_NODE as NODE, HYPERV_ROUTE_STATE as ROUTE_STATE } from "./wine-hyperv-switch.js";

const skip = wineLabUnavailableReason();
if (skip) console.log(`skipped: the helper under Wine: ${skip}`);

/** Whether anything accepts on 127.0.0.1:port: Wine's sockets are this machine's, so Linux can ask. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = connect({ host: "127.0.0.1", port });
    probe.once("connect", () => (probe.destroy(), resolve(true)));
    probe.once("error", () => resolve(false));
  });

/** What Wine makes of a DACL: it keeps none, only the Unix mode it maps one to; "others" bits mean Everyone. */
const othersMayAccess = async (path: string) => ((await stat(path)).mode & 0o007) !== 0;

describe.skipIf(skip !== null)("the privileged helper in Windows' own Node under Wine", () => {
  let lab: WineLab;
  let driver: string;
  let home: string;
  const routes = () => readFile(join(lab.toolsDir, "route-state.txt"), "utf8");
  const drive = (...parts: string[]) => join(lab.prefix, "drive_c", ...parts);
  const helperLog = () => readFile(join(home, ".minikube", "logs", "mktunnel-helper.log"), "utf8").catch(() => "");
  /** Runs the Windows-side client; answers the JSON it wrote. */
  const client = async (args: string[], env: Record<string, string> = {}) => {
    await rm(join(lab.drive, "out.json"), { force: true });
    const r = await lab.node([driver, args[0]!, "D:\\out.json", ...args.slice(1)], { env, timeoutMs: 120_000 });
    const text = await readFile(join(lab.drive, "out.json"), "utf8").catch(() => "");
    if (!text) throw new Error(`the client wrote nothing (exit ${r.exitCode}): ${r.stderr}`);
    return JSON.parse(text) as Record<string, unknown>;
  };

  beforeAll(async () => {
    lab = await WineLab.start();
    driver = await bundleForLab(lab, join(import.meta.dirname, "wine-lab-helper-proc.ts"), "helper-proc");
    const who = await lab.node(["-p", "require('os').homedir()"]);
    home = lab.unixPath(who.stdout.trim());
  }, 300_000);

  afterAll(async () => {
    await lab?.destroy();
    await releaseWineTemplate();
  });

  it("is elevated under Wine's administrator token, and keeps root's records under %ProgramData%", async () => {
    expect(await client(["elevated"])).toEqual({ elevated: true, runtimeDir: "C:\\ProgramData\\minikube-tunnel" });
    // Elevated, the CLI does root's work itself: a dead minikube tunnel's route and entry go, with no prompt (a
    // declined one would fail it) and no helper.
    await writeFile(
      join(lab.toolsDir, "route-state.txt"),
      `${ROUTE_STATE}route4 10.96.0.0 255.240.0.0 ${NODE} 172.31.16.1 26\n`,
    );
    await mkdir(join(home, ".minikube"), { recursive: true });
    const dead = {
      Route: { Gateway: NODE, DestCIDR: { IP: "10.96.0.0", Mask: "//AAAA==" } },
      MachineName: "minikube",
      Pid: 99999,
    };
    await writeFile(join(home, ".minikube", "tunnels.json"), JSON.stringify([dead]));
    const cleanup = await lab.mktunnel(["cleanup", "--json"], { env: { MKT_FAKE_UAC: "deny" } });
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout).removed).toMatchObject([{ destination: "10.96.0.0/12", routeRemoved: true }]);
    expect(await routes()).not.toContain("10.96.0.0");
    expect(await helperLog()).toBe("");
  });

  it("starts the per-session helper through UAC (sudo-prompt, Start-Process -Verb RunAs), serves its client over the TCP channel, and takes everything back when the client is killed", async () => {
    await writeFile(join(lab.toolsDir, "route-state.txt"), ROUTE_STATE);
    const started = performance.now();
    const seen = await client(["session", "kill", "D:\\mkt\\helper-main.mjs", "10.96.0.0/12", NODE]);
    console.log(`UAC start, hello, declare and add under Wine: ${Math.round(performance.now() - started)} ms`);
    expect(seen).toMatchObject({ outcomes: [{ kind: "added" }] });
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await helperLog())?.[1]);
    expect(port).toBeGreaterThan(0);
    await eventually(async () => !(await routes()).includes("10.96.0.0"), {
      timeoutMs: 20_000,
      what: "the helper to remove the killed client's route",
    });
    await eventually(async () => !(await listening(port)), { timeoutMs: 20_000, what: "the helper to exit" });
    expect(await helperLog()).toMatch(/removed 10\.96\.0\.0\/12 via 172\.31\.16\.5[\s\S]*stopped/);
    // Root's runtime folder, created with a DACL for SYSTEM and Administrators only; the client's secret folder is gone.
    expect(await othersMayAccess(drive("ProgramData", "minikube-tunnel"))).toBe(false);
    const temp = await readdir(join(home, "AppData", "Local", "Temp")).catch(() => [] as string[]);
    expect(temp.filter((name) => name.startsWith("mktunnel-"))).toEqual([]);
  });

  it("a declined UAC prompt is said as such, and nothing is started", async () => {
    const seen = await client(["session", "close", "D:\\mkt\\helper-main.mjs", "10.96.0.0/12", NODE], {
      MKT_FAKE_UAC: "deny",
    });
    expect(seen.error).toMatch(/needs administrator rights to change routes, and the request was declined/);
  });

  it("an argument with spaces, quotes, percents or cmd's own characters reaches the elevated program as it was", async () => {
    const argv = [
      "with space",
      'say "hi"',
      "100%",
      "%PATH%",
      "a&b|c<d>e^f(g)h!i!",
      "C:\\dir with space\\",
      'trailing\\"\\',
      "",
    ];
    // Handed over in a file: the lab's own launcher is not what is tested.
    await writeFile(join(lab.drive, "argv-in.json"), JSON.stringify(argv));
    const seen = await client(["argv", "D:\\argv-in.json"]);
    expect(seen).toEqual(argv);
  });

  it("the helper refuses a secret Everyone can read (what Node's own writeFile leaves under Wine)", async () => {
    await mkdir(join(lab.drive, "plain"), { recursive: true });
    await writeFile(join(lab.drive, "plain", "secret"), "ab".repeat(32));
    const r = await lab.node([
      "D:\\mkt\\helper-main.mjs",
      ...["--secret-file", "D:\\plain\\secret", "--runtime-dir", "C:\\ProgramData\\minikube-tunnel"],
      ...["--log-file", "D:\\plain\\helper.log", "--registry", "D:\\plain\\tunnels.json"],
      ...["--transport", "tcp", "--port-file", "D:\\plain\\port"],
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/secret file D:\\plain\\secret can be read by S-1-1-0/);
    expect(existsSync(join(lab.drive, "plain", "port"))).toBe(false);
  });

  describe("installed as a service (sc.exe) under C:\\Program Files", () => {
    const libexec = () => drive("Program Files", "Minikube Tunnel Helper");
    const channel = () => drive("ProgramData", "minikube-tunnel", "helper.port");
    const config = () => drive("ProgramData", "Minikube Tunnel", "helper.json");
    const serviceLog = () => drive("ProgramData", "minikube-tunnel", "helper.log");
    const sc = (...args: string[]) => lab.run(`${TOOLS_WIN}\\sc.exe`, args);

    beforeAll(async () => {
      // The fake sc.exe has Wine's own service manager run the service, with the environment services.exe makes from
      // the registry, not the lab's: the fakes go first on the system PATH (WINEPATH reaches only programs started from
      // Linux), and %ProgramData% is set for the user, whose variables come last, because Wine's services.exe gives
      // its services C:\users\Public there (Windows gives LocalSystem C:\ProgramData). services.exe reads them once,
      // so Wine starts again.
      const systemPath = `${TOOLS_WIN};%SystemRoot%\\system32;%SystemRoot%;%SystemRoot%\\system32\\wbem`;
      for (const [key, name, type, value] of [
        ["HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\Environment", "PATH", "REG_EXPAND_SZ", systemPath],
        ["HKCU\\Environment", "ProgramData", "REG_SZ", "C:\\ProgramData"],
      ] as const) {
        const r = await lab.run("C:\\windows\\system32\\reg.exe", [
          "add",
          key,
          "/v",
          name,
          "/t",
          type,
          "/d",
          value,
          "/f",
        ]);
        expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      }
      await restartWineServer(lab);
    }, 120_000);

    it("installs for the invoking user, starts the daemon through sc.exe, serves a client on its TCP channel and takes its work back; status, then uninstall", async () => {
      const started = performance.now();
      const installed = await lab.mktunnel(["helper", "install"]);
      expect(installed.exitCode, installed.stderr).toBe(0);
      expect(installed.stdout).toMatch(/installed the helper .* for root, and started it/);
      for (const file of ["node.exe", "mktunnel.mjs", "helper-main.mjs", SERVICE_HOST_EXE, "node_modules"])
        expect(existsSync(join(libexec(), file)), file).toBe(true);
      const record = JSON.parse(await readFile(config(), "utf8")) as { user: string; sid: string };
      expect(record).toMatchObject({ user: "root", sid: "S-1-5-21-0-0-0-1000" });
      // The service manager got one command line: the service host, which runs the installed Node on the daemon.
      const service = (await readFile(join(lab.toolsDir, "sc-state.txt"), "utf8")).split("\t");
      expect(service[0]).toBe(DAEMON_NAME);
      const dir = "C:\\Program Files\\Minikube Tunnel Helper";
      expect(service.at(-1)!.trim()).toBe(
        `"${dir}\\${SERVICE_HOST_EXE}" --log C:\\ProgramData\\minikube-tunnel\\helper.log -- "${dir}\\node.exe" "${dir}\\helper-main.mjs" --daemon --config "C:\\ProgramData\\Minikube Tunnel\\helper.json" --stop-on-stdin-close`,
      );
      const port = Number(
        await eventually(() => readFile(channel(), "utf8").catch(() => ""), {
          timeoutMs: 30_000,
          what: "the daemon to write its port file",
        }),
      );
      console.log(`helper install and service start under Wine: ${Math.round(performance.now() - started)} ms`);
      // The secret and port are real files beside each other, for the recorded user, SYSTEM and Administrators.
      expect(await othersMayAccess(channel())).toBe(false);
      expect(await othersMayAccess(`${channel()}.secret`)).toBe(false);
      expect(await listening(port)).toBe(true);

      await writeFile(join(lab.toolsDir, "route-state.txt"), ROUTE_STATE);
      expect(await client(["installed", "kill", "10.96.0.0/12", NODE])).toMatchObject({
        outcomes: [{ kind: "added" }],
      });
      await eventually(async () => !(await routes()).includes("10.96.0.0"), {
        timeoutMs: 20_000,
        what: "the daemon to remove the killed client's route",
      });
      expect(await listening(port)).toBe(true);

      // The host started the helper and appends its lines to helper.log in root's runtime folder.
      const log = await readFile(serviceLog(), "utf8");
      expect(log).toMatch(/mktunnel-helper-service: started the helper, pid \d+: .*--stop-on-stdin-close/);
      expect(log).toContain(`listening on 127.0.0.1:${port}`);
      expect(log).toMatch(/serving root \(S-1-5-21-0-0-0-1000\)/);
      expect(await othersMayAccess(serviceLog())).toBe(false);

      const status = await lab.mktunnel(["helper", "status", "--json"]);
      expect(JSON.parse(status.stdout)).toMatchObject({ installed: true, running: true, user: "root" });

      const removed = await lab.mktunnel(["helper", "uninstall"]);
      expect(removed.exitCode, removed.stderr).toBe(0);
      await eventually(async () => !(await listening(port)), { timeoutMs: 20_000, what: "the service to stop" });
      expect(existsSync(libexec())).toBe(false);
      expect(existsSync(config())).toBe(false);
      expect(existsSync(channel())).toBe(false);
      expect((await readFile(join(lab.toolsDir, "sc-state.txt"), "utf8")).trim()).toBe("");
    });

    it("sc stop is a clean stop: the helper takes back a connected client's route and its channel files, and the service reports STOPPED with exit code 0", async () => {
      const installed = await lab.mktunnel(["helper", "install"]);
      expect(installed.exitCode, installed.stderr).toBe(0);
      const port = Number(
        await eventually(() => readFile(channel(), "utf8").catch(() => ""), {
          timeoutMs: 30_000,
          what: "the daemon to write its port file",
        }),
      );
      await writeFile(join(lab.toolsDir, "route-state.txt"), ROUTE_STATE);
      const holder = await bundleForLab(lab, join(import.meta.dirname, "wine-helper-holder-proc.ts"), "holder-proc");
      const seen = join(lab.drive, "holder.jsonl");
      const lines = async () =>
        (await readFile(seen, "utf8").catch(() => ""))
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      const holding = lab.node([holder, "D:\\holder.jsonl", "10.96.0.0/12", NODE], { timeoutMs: 120_000 });
      holding.catch(() => undefined);
      const [added] = await eventually(async () => ((await lines()).length > 0 ? await lines() : null), {
        timeoutMs: 60_000,
        what: "the client to add its route",
      });
      expect(added).toMatchObject({ outcomes: [{ kind: "added" }] });
      expect(await routes()).toContain("route4 10.96.0.0 255.240.0.0");

      // SERVICE_CONTROL_STOP through the service manager: the host closes the helper's stdin, and the helper stops.
      const stop = await sc("stop", DAEMON_NAME);
      expect(stop.exitCode, stop.stdout).toBe(0);
      expect(stop.stdout).toMatch(/STATE\s+: [13]\s+(STOP_PENDING|STOPPED)/);
      await eventually(async () => /STATE\s+: 1\s+STOPPED/.test((await sc("query", DAEMON_NAME)).stdout), {
        timeoutMs: 30_000,
        what: "the service to report STOPPED",
      });
      expect((await sc("query", DAEMON_NAME)).stdout).toMatch(/WIN32_EXIT_CODE\s+: 0 /);
      const log = await readFile(serviceLog(), "utf8");
      expect(await routes(), log).not.toContain("10.96.0.0");
      expect((await holding).exitCode).toBe(0);
      expect((await lines()).at(-1)).toMatchObject({ closed: expect.any(String) });
      expect(log).toMatch(
        /stop requested by the service host \(stdin closed\)[\s\S]*removed 10\.96\.0\.0\/12 via 172\.31\.16\.5[\s\S]*the helper stopped with code 0[\s\S]*service stopped \(exit code 0/,
      );
      expect(existsSync(channel())).toBe(false);
      expect(existsSync(`${channel()}.secret`)).toBe(false);
      expect(await listening(port)).toBe(false);
      expect((await lab.mktunnel(["helper", "uninstall"])).exitCode).toBe(0);
    });

    it("the daemon the host runs stops cleanly when its stdin ends (--stop-on-stdin-close): channel files removed", async () => {
      const installed = await lab.mktunnel(["helper", "install", "--no-start"]);
      expect(installed.exitCode, installed.stderr).toBe(0);
      // Run as the host runs it, with a stdin that ends at once: it starts, serves, then takes the end as its stop.
      const run = await lab.node([
        `${"C:\\Program Files\\Minikube Tunnel Helper"}\\helper-main.mjs`,
        ...["--daemon", "--config", "C:\\ProgramData\\Minikube Tunnel\\helper.json", "--stop-on-stdin-close"],
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr).toMatch(
        /listening on 127\.0\.0\.1:\d+[\s\S]*stop requested by the service host \(stdin closed\)/,
      );
      expect(existsSync(channel())).toBe(false);
      expect(existsSync(`${channel()}.secret`)).toBe(false);
      expect((await lab.mktunnel(["helper", "uninstall"])).exitCode).toBe(0);
    });

    it("the daemon refuses a helper.json that Everyone may change", async () => {
      const installed = await lab.mktunnel(["helper", "install", "--no-start"]);
      expect(installed.exitCode, installed.stderr).toBe(0);
      await chmod(config(), 0o666);
      const run = await lab.node([join("C:\\Program Files\\Minikube Tunnel Helper", "mktunnel.mjs"), "helper", "run"]);
      expect(run.exitCode).not.toBe(0);
      expect(run.stderr).toMatch(/helper\.json must be a file only SYSTEM and Administrators can change, but S-1-1-0/);
      expect((await lab.mktunnel(["helper", "uninstall"])).exitCode).toBe(0);
    });
  });
});
