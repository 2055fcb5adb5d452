import { describe, expect, it } from "vitest";
import type { CommandResult, CommandRunner } from "../system/command-runner.js";
import { DAEMON_NAME } from "./helper-layout.js";
import { WindowsServiceError, parseScState, removeWindowsService } from "./service-manager-windows.js";

/** sc query's SERVICE_STATUS block as sc.exe prints it (Windows Commands: sc query). */
const queryBlock = (state: string) =>
  [
    "",
    `SERVICE_NAME: ${DAEMON_NAME}`,
    "        TYPE               : 10  WIN32_OWN_PROCESS",
    `        STATE              : ${state}`,
    "                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)",
    "        WIN32_EXIT_CODE    : 0  (0x0)",
    "",
  ].join("\r\n");

/** A scripted sc.exe: each subcommand answers from its own list, the last answer repeating. */
function scriptedSc(answers: Record<string, CommandResult[]>) {
  const calls: string[] = [];
  const runner: CommandRunner = {
    run: async (file, args) => {
      expect(file).toBe("sc.exe");
      calls.push(args.join(" "));
      const list = answers[args[0]!] ?? [{ stdout: "", stderr: "", exitCode: 0 }];
      return list.length > 1 ? list.shift()! : list[0]!;
    },
  };
  return { runner, calls };
}
const said = (stdout: string, exitCode = 0): CommandResult => ({ stdout, stderr: "", exitCode });

describe("removing the Windows service (uninstall, upgrade)", () => {
  it("reads the state by its number and name, which sc prints alike in every language", () => {
    expect(parseScState(queryBlock("4  RUNNING"))).toBe(4);
    expect(parseScState(queryBlock("3  STOP_PENDING"))).toBe(3);
    // A German sc.exe labels the line STATUS; the number and the state's name are the same.
    expect(parseScState("        STATUS             : 1  STOPPED\r\n")).toBe(1);
    expect(parseScState("[SC] EnumQueryServicesStatus:OpenService FAILED 1060:")).toBeNull();
  });

  it("deletes the service only once it is STOPPED: sc stop answers at STOP_PENDING, while the helper is still taking back what its clients set and its files are in use", async () => {
    const { runner, calls } = scriptedSc({
      stop: [said(queryBlock("3  STOP_PENDING"))],
      query: [said(queryBlock("3  STOP_PENDING")), said(queryBlock("3  STOP_PENDING")), said(queryBlock("1  STOPPED"))],
    });
    await removeWindowsService(runner, { pollMs: 1 });
    expect(calls).toEqual([
      `stop ${DAEMON_NAME}`,
      ...Array<string>(3).fill(`query ${DAEMON_NAME}`),
      `delete ${DAEMON_NAME}`,
    ]);
  });

  it("asks again when the stop came while the service was still starting (1061: it cannot accept the control yet)", async () => {
    const { runner, calls } = scriptedSc({
      stop: [said("[SC] ControlService FAILED 1061:", 1061), said(queryBlock("3  STOP_PENDING"))],
      query: [
        said(queryBlock("2  START_PENDING")),
        said(queryBlock("3  STOP_PENDING")),
        said(queryBlock("1  STOPPED")),
      ],
    });
    await removeWindowsService(runner, { pollMs: 1 });
    expect(calls.filter((c) => c.startsWith("stop"))).toHaveLength(2);
    expect(calls.at(-1)).toBe(`delete ${DAEMON_NAME}`);
  });

  it("nothing to stop is fine: no such service (1060), or a stopped one that Wine's sc answers 1 for (it has no codes)", async () => {
    const cases = [
      { stop: [said("", 1060)], query: [said("", 1060)], delete: [said("", 1060)] },
      { stop: [said("", 1)], query: [said(queryBlock("1  STOPPED"))], delete: [said("")] },
    ];
    for (const answers of cases) {
      const { runner, calls } = scriptedSc(answers);
      await removeWindowsService(runner, { pollMs: 1 });
      expect(calls).toEqual([`stop ${DAEMON_NAME}`, `query ${DAEMON_NAME}`, `delete ${DAEMON_NAME}`]);
    }
  });

  it("gives up, naming the state, when the service does not stop in time", async () => {
    const { runner } = scriptedSc({ query: [said(queryBlock("3  STOP_PENDING"))] });
    const refused = removeWindowsService(runner, { pollMs: 1, timeoutMs: 30 });
    await expect(refused).rejects.toThrow(/did not stop within .* \(still STOP_PENDING\)/);
    await expect(refused).rejects.toBeInstanceOf(WindowsServiceError);
  });
});
