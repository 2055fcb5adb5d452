import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { elevatedCommand, explainElevationFailure, helperArgv, shellQuote } from "./elevation.js";

const run = promisify(execFile);

describe("the command handed to sudo-prompt", () => {
  const launch = {
    runtime: "/Applications/Minikube Tunnel.app/Contents/MacOS/node",
    runtimeArgs: [],
    script: "/opt/it's here/helper main.js",
    runtimeDir: "/var/run/minikube-tunnel",
    logFile: "/Users/o'brien/Library/Logs/mk tunnel/helper.log",
    registry: "/Users/o'brien/.minikube/tunnels.json",
  };

  it("puts the secret's file on the command line, never the secret", () => {
    const argv = helperArgv(launch, "/tmp/mktunnel-x/secret");
    expect(argv).toContain("/tmp/mktunnel-x/secret");
    expect(argv.join(" ")).not.toMatch(/[0-9a-f]{64}/);
  });

  it.each([
    [["plain", "/usr/bin/node"], "plain /usr/bin/node"],
    [["/path with spaces/node"], "'/path with spaces/node'"],
    [["it's"], "'it'\\''s'"],
    [['say "hi"'], `'say "hi"'`],
    [["$(id)", "`id`", "a;b", "a&b", "a|b", "*"], "'$(id)' '`id`' 'a;b' 'a&b' 'a|b' '*'"],
    [["line\nbreak"], "'line\nbreak'"],
    [[""], "''"],
  ])("quotes %j as %s", (argv, quoted) => {
    expect(shellQuote(argv)).toBe(quoted);
  });

  it("survives a real shell: every argument comes back byte for byte", async () => {
    const argv = helperArgv(launch, "/tmp/dir with 'quotes'/secret");
    const { stdout } = await run("/bin/sh", ["-c", `printf '%s\\0' ${shellQuote(argv)}`]);
    expect(stdout.split("\0").slice(0, -1)).toEqual(argv);
  });

  it("on Windows it is a line of a batch file for cmd.exe, not POSIX quoting (cmd would look for a program named 'C:\\…')", () => {
    const argv = ["C:\\Program Files\\node.exe", "C:\\Users\\o'brien\\helper main.mjs", "--daemonize"];
    expect(elevatedCommand(argv, "win32")).toBe(
      '"C:\\Program Files\\node.exe" ^"C:\\Users\\o\'brien\\helper main.mjs^" --daemonize',
    );
    expect(elevatedCommand(argv, "darwin")).toBe(shellQuote(argv));
  });

  it.each([
    ["User did not grant permission.", /request was declined/],
    ["No polkit authentication agent found.", /no polkit authentication agent/],
    ["Unable to find pkexec or kdesudo.", /neither pkexec nor kdesudo/],
    ["sudo: 3 incorrect password attempts", /request was declined/],
    [
      "mktunnel-helper: refusing to run as root: /opt is writable",
      /failed to start: mktunnel-helper: refusing.*log ends with: last line/,
    ],
  ])("explains %j", (message, expected) => {
    expect(explainElevationFailure(new Error(message), "last line").message).toMatch(expected);
  });
});
