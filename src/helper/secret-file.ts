import { readSecretText } from "../engine/root/files/guarded-files.js";

export interface Secret {
  readonly value: string;
  /** The user the helper serves: the owner of the secret file, which only that user (or root) can create. */
  readonly uid: number;
  readonly gid: number;
}

/**
 * The secret reaches the helper as a file only its user can read, never on a
 * command line or in an environment another user could see. Root opens it
 * without following a link (a link to a root-owned file would make root the
 * "user"), and leaves deleting it to the client that made it.
 */
export async function readSecretFile(path: string): Promise<Secret> {
  const { text, info } = await readSecretText(path);
  if ((info.mode & 0o077) !== 0)
    throw new Error(
      `secret file ${path} is readable or writable by others (mode ${(info.mode & 0o777).toString(8)}); it must be 0600`,
    );
  const value = text.trim();
  if (!/^[0-9a-f]{64}$/.test(value)) throw new Error(`secret file ${path} does not hold a 64-digit hex secret`);
  return { value, uid: info.uid, gid: info.gid };
}
