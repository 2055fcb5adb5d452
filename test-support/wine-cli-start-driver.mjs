// Runs `mktunnel start` under Wine the way a user runs it in a console window, for wine-cli.integration.test.ts:
// node.exe D:\mkt\wine-cli-start-driver.mjs <control folder> <mktunnel args…>
// The tunnel's stdout and stderr go to files in the control folder (node.exe cannot write to a pipe from Linux), its
// pid to <folder>\pid. A file named `ctrl-c` in the folder makes this press Ctrl+C on the console the two share (the
// only way to stop a Windows console program gracefully); the tunnel's exit code goes to <folder>\exit.
import { spawn } from "node:child_process";
import { existsSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import koffi from "koffi";

const [folder, ...args] = process.argv.slice(2);
const kernel32 = koffi.load("kernel32.dll");
const AllocConsole = kernel32.func("__stdcall", "AllocConsole", "bool", []);
const FreeConsole = kernel32.func("__stdcall", "FreeConsole", "bool", []);
const GenerateConsoleCtrlEvent = kernel32.func("__stdcall", "GenerateConsoleCtrlEvent", "bool", [
  "uint32_t",
  "uint32_t",
]);
const CTRL_C_EVENT = 0;

// Started from Linux, Wine attaches a console that cannot carry Ctrl+C (GenerateConsoleCtrlEvent fails with error 12):
// a console of our own can, and the tunnel inherits it. Ctrl+C reaches this process too, which ignores it.
FreeConsole();
if (!AllocConsole()) throw new Error("AllocConsole failed");
process.on("SIGINT", () => undefined);
const child = spawn(process.execPath, [join(import.meta.dirname, "mktunnel.mjs"), ...args], {
  stdio: ["ignore", openSync(join(folder, "out"), "w"), openSync(join(folder, "err"), "w")],
});
writeFileSync(join(folder, "pid"), String(child.pid));
const poll = setInterval(() => {
  if (!existsSync(join(folder, "ctrl-c"))) return;
  clearInterval(poll);
  const sent = GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0);
  writeFileSync(join(folder, "ctrl-c-sent"), String(sent));
}, 50);
child.on("exit", (code, signal) => {
  clearInterval(poll);
  writeFileSync(join(folder, "exit"), String(code ?? signal));
});
