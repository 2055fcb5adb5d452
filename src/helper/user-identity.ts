import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The uid a user name has now (`id -u`, as install recorded it), or null when there is no such user. */
export async function uidOfUser(name: string): Promise<number | null> {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/.test(name)) return null;
  const out = await run("id", ["-u", "--", name], { timeout: 10_000 }).then(
    (r) => r.stdout.trim(),
    () => "",
  );
  return /^\d+$/.test(out) ? Number(out) : null;
}
