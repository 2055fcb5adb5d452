import { lstat } from "node:fs/promises";
import { dirname } from "node:path";
import { assertNoUserLinks } from "./files/directory-walk.js";

export interface ActingUser {
  readonly uid: number;
  readonly gid: number;
}

/**
 * The user root acts for when it works on `miniPath` (`sudo mktunnel` with
 * another user's MINIKUBE_HOME or HOME): the owner of MINIPATH, or of its
 * nearest existing parent when it does not exist yet. Found once, at start,
 * without following a link a user made (a link there is refused), and never
 * asked again: a MINIPATH swapped later for a link to a root-owned folder
 * must not make root run that user's programs as root.
 */
export async function actingUserFor(miniPath: string): Promise<ActingUser> {
  await assertNoUserLinks(miniPath);
  for (let current = miniPath; ; current = dirname(current)) {
    try {
      const info = await lstat(current);
      return { uid: info.uid, gid: info.gid };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || dirname(current) === current) throw error;
    }
  }
}
