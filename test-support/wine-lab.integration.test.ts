import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCidr } from "../src/shared/cidr.js";
import { NrptRules } from "../src/engine/root/names/dns-resolver-windows.js";
import { WindowsRouteTable, parseRoutePrint } from "../src/engine/root/routes/route-table-windows.js";
import { windowsServiceArgs } from "../src/engine/elevation/daemon-definitions.js";
import { helperLayout } from "../src/engine/elevation/helper-layout.js";
import { windowsCommandLine } from "../src/engine/elevation/command-line-windows.js";
import type { CommandRunner } from "../src/engine/system/command-runner.js";
import { eventually } from "./eventually.js";
import { TOOLS_WIN, WineLab, dosDevices, releaseWineTemplate, wineLabUnavailableReason } from "./wine-lab.js";

const skip = wineLabUnavailableReason();
if (skip) console.log(`skipped: the Windows lab under Wine: ${skip}`);

const FIXTURES = join(import.meta.dirname, "..", "src", "engine", "root", "routes", "fixtures");

/**
 * The fake route.exe's state for a captured `route print`: the Interface List
 * and the Active Routes rows, read with this test's own reading of the layout
 * (not the product's parser, which is what is being compared).
 */
function stateFromCapture(text: string): string {
  const lines = text.split(/\r?\n/);
  const state: string[] = [];
  for (const line of lines) {
    const mac = /^\s*(\d+)\.\.\.((?:[0-9a-f]{2} )+)\.{6}(.*)$/.exec(line);
    const loop = /^\s*(\d+)\.{27}(.*)$/.exec(line);
    if (mac) state.push(`iface ${mac[1]} 25 ${mac[2]!.trim().replace(/ /g, "-")} - - ${mac[3]}`);
    else if (loop) state.push(`iface ${loop[1]} 75 - - - ${loop[2]}`);
  }
  let inRows = false;
  for (const line of lines) {
    if (/^(Network Destination|Destination réseau)/.test(line)) inRows = true;
    else if (inRows && /^=+$/.test(line)) break;
    else if (inRows) {
      if (line.trim() === "") break;
      const [dest, mask, gw, iface, metric] = line.trim().split(/\s+/);
      state.push(`route4 ${dest} ${mask} ${gw} ${iface} ${metric}`);
    }
  }
  return `${state.join("\n")}\n`;
}

describe.skipIf(skip !== null)("the Windows lab under Wine", () => {
  let lab: WineLab;
  const tool = (name: string) => `${TOOLS_WIN}\\${name}.exe`;
  /** The product's CommandRunner, with each command run by Windows under Wine. */
  const windowsRunner = (env: Record<string, string> = {}): CommandRunner => ({
    run: (file, args) =>
      lab.run(file === "route" ? tool("route") : file === "powershell.exe" ? tool("powershell") : file, args, { env }),
  });

  beforeAll(async () => {
    lab = await WineLab.start();
  }, 300_000);

  afterAll(async () => {
    await lab?.destroy();
    await releaseWineTemplate();
  });

  it("runs Windows' own Node, which sees win32 on Windows 10", async () => {
    const r = await lab.node([
      "-p",
      "JSON.stringify([process.platform, require('os').release(), require('os').homedir(), process.cwd()])",
    ]);
    expect(r.exitCode).toBe(0);
    const [platform, release, home, cwd] = JSON.parse(r.stdout) as string[];
    expect(platform).toBe("win32");
    expect(release).toMatch(/^10\./);
    expect(home).toMatch(/^C:\\users\\/i);
    expect(cwd).toBe("D:\\");
  });

  it("has no Z: drive: Windows paths reach only the prefix and the lab's own folder", async () => {
    const script = [
      "const fs = require('fs');",
      "const tryRead = (p) => { try { fs.readFileSync(p); return 'read'; } catch (e) { return e.code; } };",
      "fs.writeFileSync('/posix-default.txt', 'x');",
      "console.log(JSON.stringify({ z: tryRead('Z:\\\\etc\\\\passwd'), posix: tryRead('/etc/passwd') }));",
    ].join("\n");
    const drives = await dosDevices(lab);
    expect(drives["z:"]).toBeUndefined();
    expect(drives["d:"]).toBe(lab.drive);
    const r = await lab.node(["-e", script]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ z: "ENOENT", posix: "ENOENT" });
    // A POSIX default path lands on the current drive: the lab's folder, not this machine's /.
    expect(existsSync(join(lab.drive, "posix-default.txt"))).toBe(true);
    expect(existsSync("/posix-default.txt")).toBe(false);
  });

  it("runs the CLI bundle: mktunnel --help prints its usage", async () => {
    const r = await lab.mktunnel(["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Usage: mktunnel/);
    expect(r.stdout).toMatch(/\bstart\b/);
    expect(r.stdout).toMatch(/\bcleanup\b/);
  });

  describe("route.exe", () => {
    const state = () => join(lab.toolsDir, "route-state.txt");

    for (const [fixture, lang] of [
      ["windows-route-print-en-wsl2-hyperv.txt", "en"],
      ["windows-route-print-en-win7.txt", "en"],
      ["windows-route-print-en-anyconnect.txt", "en"],
      ["windows-route-print-fr.txt", "fr"],
    ] as const) {
      it(`prints ${fixture}'s table so that the product's parser reads what it reads from the capture`, async () => {
        const captured = await readFile(join(FIXTURES, fixture), "utf8");
        await writeFile(state(), stateFromCapture(captured));
        const r = await lab.run(tool("route"), ["print", "-4"], { env: { MKT_FAKE_ROUTE_LANG: lang } });
        expect(r.exitCode).toBe(0);
        if (lang === "fr") expect(r.stdout).toMatch(/Table de routage/);
        const expected = parseRoutePrint(captured, 4);
        expect(expected.length).toBeGreaterThan(0);
        expect(parseRoutePrint(r.stdout, 4)).toEqual(expected);
      });
    }

    it("wraps a long IPv6 destination's gateway onto the next line, and the parser follows it", async () => {
      await writeFile(
        state(),
        [
          "iface 1 75 - 127.0.0.1/8 ::1/128 Software Loopback Interface 1",
          "route6 1 331 ::1/128 On-link",
          "route6 13 276 fe80::17a:4eba:7c80:727f/128 On-link",
          "route6 8 21 fd00:ec2::123/128 On-link",
        ].join("\n"),
      );
      const r = await lab.run(tool("route"), ["print", "-6"]);
      expect(r.stdout).toContain(
        " 13    276 fe80::17a:4eba:7c80:727f/128\r\n                                    On-link\r\n",
      );
      expect(parseRoutePrint(r.stdout, 6).map((x) => [x.destination.text, x.gateway, x.interface])).toEqual([
        ["::1/128", null, "if 1"],
        ["fe80::17a:4eba:7c80:727f/128", null, "if 13"],
        ["fd00:ec2::123/128", null, "if 8"],
      ]);
    });

    it("adds and removes routes for the product's WindowsRouteTable, and fails as the real one does (exit 0, localised words)", async () => {
      await writeFile(
        state(),
        [
          "iface 23 15 00-15-5d-01-6e-02 172.31.16.1/20 fd00:49::1/64 Hyper-V Virtual Ethernet Adapter",
          "route4 172.31.16.0 255.255.240.0 On-link 172.31.16.1 271",
        ].join("\n"),
      );
      const table = new WindowsRouteTable(windowsRunner());
      const adds = [
        { op: "add" as const, destination: parseCidr("10.96.0.0/12"), gateway: "172.31.16.5" },
        { op: "add" as const, destination: parseCidr("fd00:10:96::/112"), gateway: "fd00:49::2" },
      ];
      expect(await table.apply(adds)).toEqual(adds.map((change) => ({ change, ok: true })));
      expect((await table.list(4)).map((x) => [x.destination.text, x.gateway, x.interface])).toContainEqual([
        "10.96.0.0/12",
        "172.31.16.5",
        "172.31.16.1",
      ]);
      expect((await table.list(6)).map((x) => [x.destination.text, x.gateway])).toContainEqual([
        "fd00:10:96::/112",
        "fd00:49::2",
      ]);

      const again = await lab.run(tool("route"), ["ADD", "10.96.0.0", "MASK", "255.240.0.0", "172.31.16.5"]);
      expect(again).toEqual({
        exitCode: 0,
        stdout: "The route addition failed: The object already exists.\r\n",
        stderr: "",
      });
      const french = await lab.run(tool("route"), ["ADD", "10.96.0.0", "MASK", "255.240.0.0", "172.31.16.5"], {
        env: { MKT_FAKE_ROUTE_LANG: "fr" },
      });
      expect(french.exitCode).toBe(0);
      expect(french.stdout).toMatch(/^L'ajout de l'itin.raire a .chou. : L'objet existe d.j.\.\r\n$/);
      const badMask = await lab.run(tool("route"), ["ADD", "10.96.0.1", "MASK", "255.240.0.0", "172.31.16.5"]);
      expect(badMask.stdout).toContain("(Destination & Mask) != Destination.");

      const removes = adds.map((a) => ({ ...a, op: "remove" as const }));
      expect(await table.apply(removes)).toEqual(removes.map((change) => ({ change, ok: true })));
      const gone = await lab.run(tool("route"), ["DELETE", "10.96.0.0", "MASK", "255.240.0.0"]);
      expect(gone.stdout).toBe("The route deletion failed: Element not found.\r\n");
      expect(await readFile(state(), "utf8")).not.toContain("10.96.0.0");
    });
  });

  describe("powershell.exe", () => {
    const state = () => join(lab.toolsDir, "nrpt-state.txt");
    const owner = { pid: 4242, started: "Thu Jan 1 00:00:00 2026" };
    const rules = async () =>
      (await readFile(state(), "utf8").catch(() => ""))
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t"));

    it("keeps NRPT rules for the product's own scripts", async () => {
      const nrpt = new NrptRules(owner, windowsRunner());
      const dns = { profile: "minikube", domain: "cluster.local", server: "10.96.0.10", gateway: "172.31.16.5" };
      await nrpt.apply(dns);
      await nrpt.apply(dns);
      const [rule, ...others] = await rules();
      expect(others).toEqual([]);
      expect(rule![0]).toMatch(/^\{[0-9A-F-]{36}\}$/);
      expect(rule!.slice(1)).toEqual([
        ".cluster.local",
        "10.96.0.10",
        "minikube-tunnel profile=minikube pid=4242 started=Thu_Jan_1_00:00:00_2026",
      ]);

      // A rule whose writer is gone is found through ConvertTo-Json and removed by name.
      expect(await new NrptRules({ pid: 1, started: "x" }, windowsRunner()).removeStale(async () => false)).toEqual([
        rule![0],
      ]);
      expect(await rules()).toEqual([]);

      await nrpt.apply(dns);
      await nrpt.remove("minikube");
      expect(await rules()).toEqual([]);
    });

    it("fails loudly on a script it does not know", async () => {
      const encoded = Buffer.from("Get-NetRoute", "utf16le").toString("base64");
      const r = await lab.run(tool("powershell"), ["-NoProfile", "-EncodedCommand", encoded]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain("fake powershell.exe: unsupported script statement: Get-NetRoute");
    });

    it("elevates @vscode/sudo-prompt's command: RunAs runs it; a declined prompt is 'did not grant permission'", async () => {
      await lab.installPackages(["@vscode/sudo-prompt"]);
      await writeFile(
        join(lab.drive, "mkt", "elevate.cjs"),
        "require('@vscode/sudo-prompt').exec(process.argv[2], { name: 'Minikube Tunnel' }, (error, stdout, stderr) => console.log(JSON.stringify({ error: error ? { message: error.message, code: error.code } : null, stdout, stderr })));\n",
      );
      const elevate = async (command: string, env: Record<string, string> = {}) =>
        JSON.parse((await lab.node(["D:\\mkt\\elevate.cjs", command], { env })).stdout) as {
          error: { message: string; code?: number } | null;
          stdout?: string;
          stderr?: string;
        };

      expect(await elevate("echo elevated")).toEqual({ error: null, stdout: "elevated\r\n", stderr: "" });
      const failing = await elevate("echo oops 1>&2 & C:\\windows\\system32\\cmd.exe /c exit 4");
      // On failure sudo-prompt passes the command's stderr in the message only.
      expect(failing.error).toMatchObject({ code: 4, message: expect.stringContaining("oops") });
      expect((await elevate("echo never", { MKT_FAKE_UAC: "deny" })).error).toEqual({
        message: "User did not grant permission.",
      });
    });
  });

  describe("sc.exe", () => {
    it("creates, starts, queries, stops and deletes the product's service with the real exit codes", async () => {
      await mkdir(join(lab.drive, "svc root"), { recursive: true });
      await writeFile(
        join(lab.drive, "svc root", "idle.mjs"),
        // It ends when its stdin does: the service host's stop request.
        "import { writeFileSync } from 'node:fs';\nwriteFileSync('D:\\\\svc root\\\\running.json', JSON.stringify({ pid: process.pid, argv: process.argv.slice(2) }));\nprocess.stdin.on('end', () => process.exit(0)).resume();\n",
      );
      const layout = {
        ...helperLayout("D:\\svc root", "win32"),
        runtime: "C:\\mkt-node\\node.exe",
        cli: "D:\\svc root\\idle.mjs",
      };
      const sc = (...args: string[]) => lab.run(tool("sc"), args);
      // The fake's own test: Wine's service manager runs the service, so binPath is the product's service host (built
      // by installCli), here running a plain program (the product's own service: wine-helper.integration.test.ts).
      await lab.installCli();
      const host = [
        "D:\\mkt\\mktunnel-helper-service.exe",
        "--log",
        "C:\\ProgramData\\minikube-tunnel\\sc-test.log",
        "--",
      ];
      const create = windowsServiceArgs(layout).with(
        3,
        windowsCommandLine([...host, layout.runtime, layout.cli, "helper", "run", "--prefix", "D:\\svc root"]),
      );
      const name = create[1]!;

      expect((await sc("query", name)).exitCode).toBe(1060);
      expect(await sc(...create)).toMatchObject({
        exitCode: 0,
        stdout: "[SC] CreateService SUCCESS\r\n",
      });
      expect(await sc(...create)).toMatchObject({
        exitCode: 1073,
        stdout: expect.stringContaining("The specified service already exists."),
      });
      expect((await sc("stop", name)).exitCode).toBe(1062);

      const started = await sc("start", name);
      expect(started).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/STATE\s+: 2\s+START_PENDING/) });
      const running = join(lab.drive, "svc root", "running.json");
      const service = JSON.parse(
        await eventually(() => readFile(running, "utf8").catch(() => null), {
          timeoutMs: 20_000,
          everyMs: 100,
          what: "the service's process to start",
        }),
      ) as { pid: number; argv: string[] };
      expect(service.argv).toEqual(["helper", "run", "--prefix", "D:\\svc root"]);
      const alive = async () =>
        (
          await lab.node([
            "-e",
            `try { process.kill(${service.pid}, 0); console.log("alive") } catch { console.log("gone") }`,
          ])
        ).stdout.trim();
      expect(await alive()).toBe("alive");
      expect((await sc("query", name)).stdout).toMatch(/STATE\s+: 4\s+RUNNING/);
      expect((await sc("start", name)).exitCode).toBe(1056);

      // sc stop prints the state it saw: STOP_PENDING, or STOPPED when the service was quicker (a busy machine).
      expect(await sc("stop", name)).toMatchObject({
        exitCode: 0,
        stdout: expect.stringMatching(/STOP_PENDING|1\s+STOPPED/),
      });
      await eventually(async () => /STATE\s+: 1\s+STOPPED/.test((await sc("query", name)).stdout), {
        timeoutMs: 30_000,
        what: "the service to stop",
      });
      expect(await alive()).toBe("gone");
      expect(await sc("delete", name)).toMatchObject({ exitCode: 0, stdout: "[SC] DeleteService SUCCESS\r\n" });
      expect((await sc("delete", name)).exitCode).toBe(1060);
      expect((await sc("stop", name)).exitCode).toBe(1060);
    });
  });
});
