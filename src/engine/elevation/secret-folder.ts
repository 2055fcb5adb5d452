import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { windowsSecurity } from "./acl-windows.js";

export interface SecretFolder {
  readonly dir: string;
  readonly secretFile: string;
  /** Where a helper on the TCP channel writes its port, for this client alone to read. */
  readonly portFile: string;
}

/**
 * A DACL for this user, SYSTEM and Administrators, and nobody else; protected, so nothing above it is inherited
 * (a TEMP pointed at C:\Temp would otherwise pass Users' rights down). The user by SID, not OWNER RIGHTS: the port
 * file the elevated helper writes in the folder is owned by Administrators, and this client must still read it.
 */
export const privateSddl = (userSid: string, inheritable: boolean) => {
  const flags = inheritable ? "OICI" : "";
  return `D:P(A;${flags};FA;;;${userSid})(A;${flags};FA;;;SY)(A;${flags};FA;;;BA)`;
};

/**
 * The client's secret for a per-session helper, in a fresh folder only this
 * user can open (docs/security.md, "The channel"). POSIX: a 0700 directory
 * and a 0600 file. Windows, where modes mean nothing: the folder and the file
 * are created with that DACL in the same call (no moment at which they are
 * open to others), and the helper checks the file's DACL before it believes
 * it (src/helper/secret-file.ts).
 */
export async function makeSecretFolder(
  secret: string,
  platform: NodeJS.Platform = process.platform,
): Promise<SecretFolder> {
  if (platform !== "win32") {
    const dir = await mkdtemp(join(tmpdir(), "mktunnel-"));
    await writeFile(join(dir, "secret"), secret, { mode: 0o600 });
    return { dir, secretFile: join(dir, "secret"), portFile: join(dir, "port") };
  }
  const security = windowsSecurity();
  const user = security.processUserSid();
  // mkdtemp cannot give a folder a DACL: a random name instead, whose creation fails if anything already has it.
  for (let attempt = 0; attempt < 8; attempt++) {
    const dir = join(tmpdir(), `mktunnel-${randomBytes(8).toString("hex")}`);
    if (!security.createDirectory(dir, privateSddl(user, true))) continue;
    security.createFile(join(dir, "secret"), secret, privateSddl(user, false));
    return { dir, secretFile: join(dir, "secret"), portFile: join(dir, "port") };
  }
  throw new Error(`could not create a private folder in ${tmpdir()}`);
}
