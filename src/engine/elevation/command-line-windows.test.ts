import { describe, expect, it } from "vitest";
import { DAEMON_NAME, helperLayout } from "./helper-layout.js";
import { windowsServiceArgs, windowsServiceCommand } from "./daemon-definitions.js";
import { batchCommandLine, quoteWindowsArg, windowsCommandLine } from "./command-line-windows.js";

/**
 * A command line split as Microsoft's C runtime splits it (learn.microsoft.com,
 * "Parsing C++ command-line arguments"; the program name first, by its own
 * rule: quoted up to the next quote, else up to whitespace). Written from the
 * documentation, not from the code under test.
 */
export function splitWindowsCommandLine(line: string): string[] {
  let i = 0;
  let program = "";
  if (line.startsWith('"')) {
    const end = line.indexOf('"', 1);
    program = line.slice(1, end === -1 ? line.length : end);
    i = end === -1 ? line.length : end + 1;
  } else {
    while (i < line.length && !/[ \t]/.test(line[i]!)) program += line[i++];
  }
  const args = [program];
  for (;;) {
    while (i < line.length && /[ \t]/.test(line[i]!)) i++;
    if (i >= line.length) return args;
    let arg = "";
    let quoted = false;
    while (i < line.length && (quoted || !/[ \t]/.test(line[i]!))) {
      const start = i;
      while (line[i] === "\\") i++;
      const backslashes = i - start;
      if (line[i] === '"') {
        arg += "\\".repeat(Math.floor(backslashes / 2));
        if (backslashes % 2 === 1) arg += '"';
        else if (quoted && line[i + 1] === '"') {
          // Inside quotes, "" is a literal quote (the C runtime's rule since 2008).
          arg += '"';
          i++;
        } else quoted = !quoted;
        i++;
      } else {
        arg += "\\".repeat(backslashes);
        if (i < line.length && (quoted || !/[ \t]/.test(line[i]!))) arg += line[i++];
      }
    }
    args.push(arg);
  }
}

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

describe("Windows command lines", () => {
  it.each(TRICKY)("an argument comes back from Microsoft's splitting as it went in: %j", (arg) => {
    expect(splitWindowsCommandLine(`C:\\node.exe ${quoteWindowsArg(arg)}`)).toEqual(["C:\\node.exe", arg]);
  });

  it("a whole argv survives, each argument in its place", () => {
    const argv = ["C:\\Program Files\\node.exe", ...TRICKY];
    expect(splitWindowsCommandLine(windowsCommandLine(argv))).toEqual(argv);
  });

  it("the service's binPath survives a prefix with a trailing backslash (sc create's one string)", () => {
    // "C:\stage\" quoted naively ends in \" : the quote becomes part of the argument and the rest runs together.
    for (const prefix of ["C:\\stage\\", "C:\\Program Files\\", "D:\\svc root\\"]) {
      const layout = helperLayout(prefix, "win32");
      const args = windowsServiceArgs(layout);
      expect(args.slice(0, 3)).toEqual(["create", DAEMON_NAME, "binPath="]);
      expect(splitWindowsCommandLine(args[3]!)).toEqual(windowsServiceCommand(layout));
    }
  });

  it("a batch line quotes the program for cmd and escapes cmd's characters in the arguments", () => {
    expect(batchCommandLine(["C:\\Program Files\\node.exe", "a b", "100%", 'x"&calc'])).toBe(
      '"C:\\Program Files\\node.exe" ^"a b^" 100%% ^"x\\^"^&calc^"',
    );
    // What cmd leaves after its own pass (^x → x, %% → %) is the Windows command line of the argv.
    const cmdPass = (line: string) => line.replace(/%%/g, "%").replace(/\^(.)/g, "$1");
    const argv = ["C:\\Program Files (x86)\\node.exe", ...TRICKY];
    expect(splitWindowsCommandLine(cmdPass(batchCommandLine(argv)))).toEqual(argv);
  });

  it("refuses what one batch line cannot carry", () => {
    expect(() => batchCommandLine(["C:\\node.exe", "two\nlines"])).toThrow(/line break/);
    expect(() => batchCommandLine(['C:\\a"b.exe'])).toThrow(/not a program path/);
  });
});
