import { chmod, copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { windowsServiceCommand } from "../src/engine/elevation/daemon-definitions.js";
import { helperLayout } from "../src/engine/elevation/helper-layout.js";
import { SID, notRootOwned, parseSddl } from "../src/engine/elevation/sddl-windows.js";
import { HOST_CHECK_MAIN, serviceHostExe } from "./wine-service-build.js";
import { WineLab, releaseWineTemplate, wineLabUnavailableReason } from "./wine-lab.js";

const skip = wineLabUnavailableReason();
if (skip) console.log(`skipped: the service host's C parts under Wine: ${skip}`);

/** The arguments of command-line-windows.test.ts: what Microsoft's splitting makes hard. */
const TRICKY = [
  "plain",
  "",
  "with space",
  "C:\\Program Files\\Minikube Tunnel Helper\\",
  "C:\\stage\\",
  "trailing\\\\",
  'say "hi"',
  'back\\"slash quote',
  '\\\\server\\share\\"x"\\',
  "tab\there",
  "%PATH% & calc | more < in > out ^ (x) !y!",
];

const USER = "S-1-5-21-1004336348-1177238915-682003330-1001";
const ADMIN = "S-1-5-21-1004336348-1177238915-682003330-500";
/** Descriptors of sddl-windows.test.ts (as Windows 10 and Wine write them), each judged for an elevated admin. */
const DESCRIPTORS = [
  `O:${USER}G:${USER}D:AI(A;ID;FA;;;${USER})(A;OICIIOID;GA;;;CO)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)`,
  "O:BAG:S-1-5-21-1004336348-1177238915-682003330-513D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)",
  "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)",
  "O:BAG:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)",
  `O:${ADMIN}D:(A;;FA;;;SY)(A;;FA;;;${ADMIN})`,
  `O:${ADMIN}D:(A;OICI;FA;;;SY)(A;OICI;FA;;;${ADMIN})(A;OICI;0x1301bf;;;WD)`,
  "O:BAD:(D;;FA;;;BU)(A;OICIIO;FA;;;BU)(A;;FA;;;SY)",
  ...["DC", "LC", "DT", "SD", "WD", "WO", "GA", "GW", "FW", "FR", "FX", "GR", "0x1200a9"].map(
    (rights) => `O:SYD:(A;;${rights};;;BU)`,
  ),
];

describe.skipIf(skip !== null)("the service host's C parts (src/helper/windows-service) under Wine", () => {
  let lab: WineLab;
  /** Runs the harness (test-support/wine-service/host-check.c); answers the JSON it printed. */
  const check = async (...args: string[]) => {
    const r = await lab.run("D:\\host-check.exe", args);
    if (!r.stdout.trim()) throw new Error(`host-check ${args[0]} printed nothing (exit ${r.exitCode}): ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    lab = await WineLab.start();
    await copyFile(await serviceHostExe(HOST_CHECK_MAIN), join(lab.drive, "host-check.exe"));
  }, 300_000);

  afterAll(async () => {
    await lab?.destroy();
    await releaseWineTemplate();
  });

  it("reads the host's options as binPath gives them, and refuses what would run the wrong program", async () => {
    const layout = helperLayout("/", "win32");
    const command = windowsServiceCommand(layout, { ProgramData: "C:\\ProgramData" });
    expect(await check("options", ...command.slice(1))).toEqual({
      log: "C:\\ProgramData\\minikube-tunnel\\helper.log",
      stopTimeout: 20,
      child: command.slice(command.indexOf("--") + 1),
    });
    const child = ["--", "C:\\node.exe", "x.mjs"];
    expect(await check("options", "--log", "D:\\l.log", "--stop-timeout", "5", ...child)).toMatchObject({
      stopTimeout: 5,
      child: ["C:\\node.exe", "x.mjs"],
    });
    const refusals: [string[], RegExp][] = [
      [["--stop-timeout", "5", ...child], /--log is required/],
      [["--log", "helper.log", ...child], /--log must be a full path/],
      [["--log", "\\\\?\\C:\\x.log", ...child], /--log must be a full path/],
      [["--log", "D:\\l.log", "--stop-timeout", "0", ...child], /1 to 3600 seconds/],
      [["--log", "D:\\l.log", "--stop-timeout", "3601", ...child], /1 to 3600 seconds/],
      [["--log", "D:\\l.log", "--stop-timeout", "5s", ...child], /1 to 3600 seconds/],
      [["--log", "D:\\l.log", "--", "node.exe", "x.mjs"], /the program must be a full path/],
      [["--log", "D:\\l.log", "--"], /no program after --/],
      [["--log", "D:\\l.log", "--verbose", "1", ...child], /unknown option/],
      [["--log"], /an option without its value/],
    ];
    for (const [args, error] of refusals)
      expect((await check("options", ...args)).error, args.join(" ")).toMatch(error);
  });

  it("hands Node exactly the argv it was given, by Microsoft's rules, however the arguments are made", async () => {
    await writeFile(
      join(lab.drive, "echo.cjs"),
      "require('fs').writeFileSync(process.argv[2], JSON.stringify(process.argv.slice(3)))\n",
    );
    const seen = await check("run", "C:\\mkt-node\\node.exe", "D:\\echo.cjs", "D:\\argv.json", ...TRICKY);
    expect(seen).toEqual({ exitCode: 0 });
    expect(JSON.parse(await readFile(join(lab.drive, "argv.json"), "utf8"))).toEqual(TRICKY);
  });

  it("always quotes the program, refuses a program path with a quote, and a line over CreateProcessW's 32767", async () => {
    expect(await check("command-line", "C:\\node.exe", "a")).toEqual({ line: '"C:\\node.exe" a' });
    expect(await check("command-line", 'C:\\a"b.exe', "a")).toEqual({ line: null });
    // "C:\x.exe" and a space are 11 characters; with the terminating NUL, 32755 letters fill the 32767 exactly.
    expect(await check("long", "32755")).toEqual({ length: 32766 });
    expect(await check("long", "32756")).toEqual({ length: null });
  });

  it("judges a folder's descriptor as the Node side does (sddl-windows.ts notRootOwned)", async () => {
    for (const sddl of DESCRIPTORS) {
      const seen = await check("sddl", sddl, ADMIN);
      expect(seen, sddl).toEqual({ problem: notRootOwned(parseSddl(sddl), ADMIN) });
    }
    // Without a process user, only SYSTEM, Administrators and TrustedInstaller are trusted owners.
    expect(await check("sddl", `O:${ADMIN}D:P(A;;FA;;;SY)`, "-")).toEqual({ problem: `it is owned by ${ADMIN}` });
    // No DACL at all grants everyone everything: the Node side says so. (Not asked of the C side here: Wine 8 turns
    // "D:NO_ACCESS_CONTROL" into an empty DACL, which grants nothing, so the harness would not see a NULL DACL.)
    expect(notRootOwned(parseSddl("O:SYD:NO_ACCESS_CONTROL"), ADMIN)).toBe(`${SID.EVERYONE} can change it`);
  });

  it("judges the folder's parent: Users may add to it (as to %ProgramData%), never delete or rename what is in it", async () => {
    // %ProgramData% as Windows 10 ships it: Users create folders and files (WD, AD), CREATOR OWNER's grant is for children.
    const programData =
      "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;0x116;;;BU)";
    expect(await check("parent", programData, "-")).toEqual({ problem: null });
    for (const [sddl, problem] of [
      // DT is 0x40, FILE_DELETE_CHILD on a folder (DC, 0x2, is FILE_WRITE_DATA: adding a file).
      ["O:SYD:(A;;FA;;;SY)(A;;DT;;;BU)", "S-1-5-32-545 can change it"],
      ["O:SYD:(A;;FA;;;SY)(A;;SD;;;BU)", "S-1-5-32-545 can change it"],
      ["O:SYD:(A;;FA;;;SY)(A;;WD;;;AU)", "S-1-5-11 can change it"],
      [`O:${USER}D:(A;;FA;;;SY)`, `it is owned by ${USER}`],
    ] as const)
      expect(await check("parent", sddl, "-"), sddl).toEqual({ problem });
  });

  it("a log is in the held folder only if its final path is directly inside the folder's", async () => {
    const folder = "\\\\?\\C:\\ProgramData\\minikube-tunnel";
    expect(await check("inside", folder, `${folder}\\helper.log`)).toEqual({ inside: true });
    expect(await check("inside", folder, "\\\\?\\C:\\PROGRAMDATA\\Minikube-Tunnel\\helper.log")).toEqual({
      inside: true,
    });
    for (const file of [
      "\\\\?\\C:\\Users\\mallory\\helper.log",
      `${folder}-x\\helper.log`,
      `${folder}\\sub\\helper.log`,
      `${folder}\\`,
      folder,
    ])
      expect(await check("inside", folder, file), file).toEqual({ inside: false });
  });

  it("attacked: a folder whose parent everyone may change is refused, though the folder itself is root's, and no log is made", async () => {
    const parent = lab.unixPath("C:\\ProgramData\\mkt-loose");
    await mkdir(join(parent, "inner"), { recursive: true });
    await chmod(parent, 0o777);
    await chmod(join(parent, "inner"), 0o700);
    expect(await check("log", "C:\\ProgramData\\mkt-loose\\inner\\helper.log")).toEqual({
      error: expect.stringMatching(
        /C:\\ProgramData\\mkt-loose\\inner must be in a folder only SYSTEM and Administrators can change, but in its folder C:\\ProgramData\\mkt-loose S-1-1-0 can change it/,
      ),
      code: 5,
    });
    await expect(stat(join(parent, "inner", "helper.log"))).rejects.toThrow(/ENOENT/);
  });

  it("makes the log's folder root's, appends to the log, rotates a large one, and refuses a folder others may change", async () => {
    const folder = lab.unixPath("C:\\ProgramData\\mkt-check");
    expect(await check("log", "C:\\ProgramData\\mkt-check\\helper.log")).toEqual({ ok: true });
    expect(await check("log", "C:\\ProgramData\\mkt-check\\helper.log")).toEqual({ ok: true });
    expect(await readFile(join(folder, "helper.log"), "utf8")).toBe("host-check\nhost-check\n");
    // Wine keeps no DACL, only the Unix mode it maps one to: nothing for "others" (Everyone).
    expect((await stat(folder)).mode & 0o007).toBe(0);

    await writeFile(join(folder, "helper.log"), "x".repeat(8 * 1024 * 1024 + 1));
    expect(await check("log", "C:\\ProgramData\\mkt-check\\helper.log")).toEqual({ ok: true });
    expect((await stat(join(folder, "helper.log.1"))).size).toBe(8 * 1024 * 1024 + 1);
    expect(await readFile(join(folder, "helper.log"), "utf8")).toBe("host-check\n");

    // A folder any user made first, and left open to everyone: refused, and nothing written in it.
    const open = lab.unixPath("C:\\ProgramData\\mkt-open");
    await mkdir(open);
    await chmod(open, 0o777);
    expect(await check("log", "C:\\ProgramData\\mkt-open\\helper.log")).toEqual({
      error: expect.stringMatching(
        /C:\\ProgramData\\mkt-open must be a folder only SYSTEM and Administrators can change, but S-1-1-0 can change it/,
      ),
      code: 5,
    });
    await expect(stat(join(open, "helper.log"))).rejects.toThrow(/ENOENT/);
    expect(await check("log", "helper.log")).toMatchObject({ error: expect.stringMatching(/not a file in a folder/) });
  });
});
