/** A failure the user can act on: printed as one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ").trim();
}

export function requireRoot(action: string): void {
  if (process.platform === "win32") return;
  if (process.getuid?.() !== 0) {
    throw new CliError(`${action} changes the routing table and needs root: run it with sudo`, 1);
  }
}
