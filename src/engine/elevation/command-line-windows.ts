/**
 * Windows has no argv at the system level: a program gets one command line
 * and splits it itself. Node, and every program built with Microsoft's C
 * runtime, splits it as CommandLineToArgvW does ("Parsing C++ command-line
 * arguments", learn.microsoft.com): whitespace separates arguments; a double
 * quote starts or ends a quoted part; backslashes are literal unless they
 * come right before a double quote, where 2n of them give n and the quote
 * delimits, and 2n+1 give n and a literal quote.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  // Backslashes before a quote (or before the closing quote) are doubled, so they stay backslashes.
  const escaped = arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, "$1$1");
  return `"${escaped}"`;
}

/** An argv as one Windows command line (a service's binPath, CreateProcess's lpCommandLine). */
export function windowsCommandLine(argv: readonly string[]): string {
  return argv.map(quoteWindowsArg).join(" ");
}

/**
 * An argv as one line of a batch file, which @vscode/sudo-prompt writes the
 * command into on Windows (command.bat, run with `call`). cmd.exe reads the
 * line before the program does: `%…%` expands in a batch file even inside
 * quotes (`%%` is a literal percent), and `^ & | < > ( )` act outside quotes.
 * The program's path is quoted for cmd itself (it finds the program by the
 * first token, and a path cannot hold a `"`); in the arguments every such
 * character, `"` included, is escaped with `^`, so no quote opens cmd's quoted
 * mode and each character reaches the program as it is (`!` too, should
 * delayed expansion be on). Percents are doubled everywhere. A line break
 * cannot be carried on one line at all.
 */
export function batchCommandLine(argv: readonly string[]): string {
  const [program, ...args] = argv;
  if (program === undefined || program === "" || program.includes('"'))
    throw new Error(`not a program path for cmd.exe: ${JSON.stringify(program)}`);
  for (const arg of argv)
    if (/[\r\n\0]/.test(arg)) throw new Error(`an argument with a line break cannot be passed through cmd.exe: ${arg}`);
  const rest = args.map((arg) => ` ${quoteWindowsArg(arg).replace(/[\^&|<>()"!]/g, "^$&")}`).join("");
  return `"${program}"${rest}`.replace(/%/g, "%%");
}
