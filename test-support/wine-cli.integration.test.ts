import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "./eventually.js";
import { bundleForLab } from "./wine-lab-bundle.js";
import { WineFakeMinikube } from "./wine-minikube.js";
import { WineLab, releaseWineTemplate, wineLabUnavailableReason } from "./wine-lab.js";
import { HYPERV_NODE as NODE, HYPERV_ROUTE_STATE as ROUTE_STATE } from "./wine-hyperv-switch.js";

const skip = wineLabUnavailableReason();
if (skip) console.log(`skipped: the CLI under Wine: ${skip}`);

type Event = Record<string, unknown> & { event: string };

/** `mktunnel start` running under Wine through wine-cli-start-driver.mjs. */
interface RunningTunnel {
  readonly pid: number;
  events(): Promise<Event[]>;
  waitFor(test: (e: Event) => boolean, what: string): Promise<Event>;
  /** Ctrl+C on its console; answers its exit code. */
  ctrlC(): Promise<string>;
  /** TerminateProcess, what Task Manager's End task does: no handler runs. */
  kill(): Promise<void>;
}

describe.skipIf(skip !== null)("mktunnel in Windows' own Node under Wine", () => {
  let lab: WineLab;
  /** %USERPROFILE%, as Windows and as Unix paths. */
  let homeWin: string;
  let home: string;
  /** Installed by the route mode test: before it, this user has no minikube and no MINIPATH. */
  let minikube: WineFakeMinikube | undefined;
  let starts = 0;
  const routes = () => readFile(join(lab.toolsDir, "route-state.txt"), "utf8");
  const nrpt = () => readFile(join(lab.toolsDir, "nrpt-state.txt"), "utf8").catch(() => "");
  const registry = () => readFile(join(home, ".minikube", "tunnels.json"), "utf8");
  const cli = (args: string[]) => lab.mktunnel(args, { env: minikube?.env() ?? {}, timeoutMs: 120_000 });

  async function startTunnel(args: string[]): Promise<RunningTunnel> {
    const folder = join(lab.drive, `start-${++starts}`);
    await mkdir(folder);
    const driverWin = "D:\\mkt\\wine-cli-start-driver.mjs";
    if (!existsSync(lab.unixPath(driverWin)))
      await copyFile(join(import.meta.dirname, "wine-cli-start-driver.mjs"), lab.unixPath(driverWin));
    const driver = lab.node([driverWin, lab.windowsPath(folder), "start", "--json", ...args], {
      env: minikube!.env(),
      timeoutMs: 600_000,
    });
    driver.catch(() => undefined);
    const pid = Number(
      await eventually(() => readFile(join(folder, "pid"), "utf8").catch(() => ""), {
        timeoutMs: 60_000,
        what: "the start driver to start mktunnel",
      }),
    );
    const events = async () =>
      (await readFile(join(folder, "out"), "utf8").catch(() => ""))
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Event);
    const exit = () =>
      eventually(() => readFile(join(folder, "exit"), "utf8").catch(() => ""), {
        timeoutMs: 60_000,
        what: "mktunnel start to exit",
      });
    return {
      pid,
      events,
      waitFor: async (test, what) =>
        eventually(
          async () => {
            if (existsSync(join(folder, "exit")))
              throw new Error(
                `mktunnel start exited while waiting for ${what}: ${await readFile(join(folder, "err"), "utf8")}`,
              );
            return (await events()).find(test) ?? null;
          },
          { timeoutMs: 60_000, what },
        ),
      ctrlC: async () => {
        await writeFile(join(folder, "ctrl-c"), "");
        return exit().catch(async (error: Error) => {
          const sent = await readFile(join(folder, "ctrl-c-sent"), "utf8").catch(() => "(not yet)");
          const err = await readFile(join(folder, "err"), "utf8").catch(() => "");
          throw new Error(`${error.message}; GenerateConsoleCtrlEvent answered ${sent}; stderr: ${err}`);
        });
      },
      kill: async () => {
        const r = await lab.node(["-e", `process.kill(${pid})`]);
        expect(r.exitCode, r.stderr).toBe(0);
        await exit();
      },
    };
  }

  beforeAll(async () => {
    lab = await WineLab.start();
    await lab.installCli();
    homeWin = (await lab.node(["-p", "require('os').homedir()"])).stdout.trim();
    home = lab.unixPath(homeWin);
  }, 300_000);

  afterAll(async () => {
    await lab?.destroy();
    await releaseWineTemplate();
  });

  it("a new user without %USERPROFILE%\\.minikube: cleanup --json and status --json work, and create nothing there", async () => {
    expect(existsSync(join(home, ".minikube"))).toBe(false);
    const cleanup = await cli(["cleanup", "--json"]);
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout)).toMatchObject({ removed: [], failures: [] });
    const status = await cli(["status", "--json"]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      registryPath: `${homeWin}\\.minikube\\tunnels.json`,
      tunnels: [],
    });
    expect(existsSync(join(home, ".minikube"))).toBe(false);
  });

  it("route mode: start adds the route through route.exe, the entry in minikube's format and the NRPT rule; Ctrl+C takes all back", async () => {
    minikube = await WineFakeMinikube.install(lab, home);
    await minikube.addProfile({ name: "minikube", nodeIp: NODE });
    await writeFile(join(lab.toolsDir, "route-state.txt"), ROUTE_STATE);
    const tunnel = await startTunnel(["--mode", "route", "--poll-interval", "500"]);
    await tunnel.waitFor((e) => e.event === "ready", "ready");
    await tunnel.waitFor(
      (e) => e.event === "state" && (e.names as { state?: string } | undefined)?.state === "on",
      "the cluster's names to be on",
    );
    expect(await routes()).toContain(`route4 10.96.0.0 255.240.0.0 ${NODE} 172.31.16.1`);
    expect(JSON.parse(await registry())).toEqual([
      expect.objectContaining({
        MachineName: "minikube",
        Pid: tunnel.pid,
        Route: expect.objectContaining({ Gateway: NODE, DestCIDR: { IP: "10.96.0.0", Mask: "//AAAA==" } }),
      }),
    ]);
    expect(await nrpt()).toMatch(
      new RegExp(`\\.cluster\\.local\\t10\\.96\\.0\\.10\\tminikube-tunnel profile=minikube pid=${tunnel.pid} `),
    );

    const status = await cli(["status", "--json"]);
    expect(status.exitCode, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as {
      tunnels: unknown[];
      profiles: { routes: unknown[] }[];
    };
    expect(report.tunnels).toEqual([expect.objectContaining({ profile: "minikube", alive: true, pid: tunnel.pid })]);
    expect(report.profiles[0]!.routes).toEqual([
      expect.objectContaining({ cidr: "10.96.0.0/12", state: "active", kind: "service" }),
    ]);

    expect(await tunnel.ctrlC()).toBe("0");
    expect((await tunnel.events()).map((e) => e.event)).toEqual(expect.arrayContaining(["stopping", "stopped"]));
    expect(await routes()).not.toContain("10.96.0.0");
    expect(JSON.parse(await registry())).toEqual([]);
    expect(await nrpt()).toBe("");
  }, 240_000);

  it("after TerminateProcess, cleanup --json takes back the route, the entry and the NRPT rule the dead tunnel left", async () => {
    await writeFile(join(lab.toolsDir, "route-state.txt"), ROUTE_STATE);
    const tunnel = await startTunnel(["--mode", "route", "--poll-interval", "500"]);
    await tunnel.waitFor(
      (e) => e.event === "state" && (e.names as { state?: string } | undefined)?.state === "on",
      "the cluster's names to be on",
    );
    await tunnel.kill();
    expect(await routes()).toContain("route4 10.96.0.0 255.240.0.0");
    expect(JSON.parse(await registry())).toHaveLength(1);
    expect(await nrpt()).toContain("minikube-tunnel profile=minikube");

    const cleanup = await cli(["cleanup", "--json"]);
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout)).toMatchObject({
      removed: [{ destination: "10.96.0.0/12", gateway: NODE, routeRemoved: true }],
      failures: [],
    });
    expect(await routes()).not.toContain("10.96.0.0");
    expect(JSON.parse(await registry())).toEqual([]);
    expect(await nrpt()).toBe("");
  }, 240_000);

  describe("names on Windows", () => {
    const HOSTS = "C:\\windows\\system32\\drivers\\etc\\hosts";
    // Wine's own file, the ANSI code page's é (0xE9) in a comment, and CRLF line ends.
    const ORIGINAL = Buffer.from(
      "# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# r\xe9seau du caf\xe9\r\n127.0.0.1       localhost\r\n::1             localhost\r\n",
      "latin1",
    );
    let writer: string;
    const hostsFile = () => lab.unixPath(HOSTS);
    const write = async (mode: "write" | "write-remove") => {
      await rm(join(lab.drive, "hosts-out.json"), { force: true });
      const r = await lab.node([writer, mode, "D:\\hosts-out.json"]);
      const seen = JSON.parse(await readFile(join(lab.drive, "hosts-out.json"), "utf8").catch(() => "{}")) as {
        path?: string;
        written?: string;
        removed?: string;
        error?: string;
      };
      expect(seen.error, r.stderr).toBeUndefined();
      return seen;
    };

    beforeAll(async () => {
      writer = await bundleForLab(lab, join(import.meta.dirname, "wine-hosts-writer-proc.ts"), "hosts-writer");
    }, 120_000);

    beforeEach(async () => {
      // The prefix's C:\windows is hard-linked to the template's: a new file, never a write through the link.
      await rm(hostsFile(), { force: true });
      await writeFile(hostsFile(), ORIGINAL);
    });

    it("root's hosts writer adds and removes its block in %SystemRoot%\\System32\\drivers\\etc\\hosts, CRLF and the ANSI comment kept byte for byte", async () => {
      const seen = await write("write-remove");
      expect(seen.path).toBe("C:\\windows\\System32\\drivers\\etc\\hosts");
      const written = Buffer.from(seen.written!, "base64");
      expect(written.subarray(0, ORIGINAL.length).equals(ORIGINAL)).toBe(true);
      expect(written.subarray(ORIGINAL.length).toString("latin1")).toMatch(
        /^# BEGIN minikube-tunnel profile=minikube pid=\d+ started=\S*\r\n127\.64\.0\.1 web\.default\.svc\.cluster\.local web\.default\r\n# END minikube-tunnel profile=minikube\r\n$/,
      );
      expect(Buffer.from(seen.removed!, "base64").equals(ORIGINAL)).toBe(true);
      expect((await readFile(hostsFile())).equals(ORIGINAL)).toBe(true);
    });

    it("cleanup --json removes the block a dead writer left, and nothing else", async () => {
      await write("write");
      expect((await readFile(hostsFile())).toString("latin1")).toContain("# BEGIN minikube-tunnel profile=minikube");
      const cleanup = await cli(["cleanup", "--json"]);
      expect(cleanup.exitCode, cleanup.stderr).toBe(0);
      expect(JSON.parse(cleanup.stdout).names).toEqual(["hosts block of minikube"]);
      expect((await readFile(hostsFile())).equals(ORIGINAL)).toBe(true);
    });
  });
});
