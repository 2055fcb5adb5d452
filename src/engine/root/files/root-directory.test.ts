import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRootDirectory } from "./root-directory.js";
import type { WindowsSecurity } from "../../elevation/acl-windows.js";
import { ROOT_ONLY_SDDL, parseSddl } from "../../elevation/sddl-windows.js";

const ADMIN = "S-1-5-21-1004336348-1177238915-682003330-500";
const USER = "S-1-5-21-1004336348-1177238915-682003330-1001";

describe("root's runtime directory on Windows (platform given)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-rootdir-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const windows =
    (existing: string | null, made: string[] = []): (() => WindowsSecurity) =>
    () =>
      ({
        createDirectory: (path: string, sddl: string) => (existing === null ? (made.push(sddl), true) : false),
        describe: () => parseSddl(existing!),
        processUserSid: () => ADMIN,
      }) as unknown as WindowsSecurity;

  it("is created with SYSTEM and Administrators alone when missing", async () => {
    const made: string[] = [];
    await ensureRootDirectory(join(dir, "fresh"), "win32", windows(null, made));
    expect(made).toEqual([ROOT_ONLY_SDDL]);
  });

  it("one a user made first in %ProgramData%, or one Users may add to, is refused; the helper's own is kept", async () => {
    const existing = dir;
    const userMade = `O:${USER}D:AI(A;;FA;;;${USER})(A;OICIIOID;GA;;;CO)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)`;
    await expect(ensureRootDirectory(existing, "win32", windows(userMade))).rejects.toThrow(
      new RegExp(`only SYSTEM and Administrators can change, but it is owned by ${USER}`),
    );
    const inherited = "O:BAD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;CIID;DCLCRPCR;;;BU)";
    await expect(ensureRootDirectory(existing, "win32", windows(inherited))).rejects.toThrow(
      /S-1-5-32-545 can change it/,
    );
    await ensureRootDirectory(existing, "win32", windows(`O:BA${ROOT_ONLY_SDDL}`));
  });

  it("a junction in its place (or on its path) is refused, though its target would pass: the user could retarget it", async () => {
    const target = join(dir, "system-only");
    await mkdir(target, { recursive: true });
    const planted = join(dir, "planted");
    await symlink(target, planted, "junction");
    await expect(ensureRootDirectory(planted, "win32", windows(`O:BA${ROOT_ONLY_SDDL}`))).rejects.toThrow(/link/);
    await expect(
      ensureRootDirectory(join(planted, "minikube-tunnel"), "win32", windows(`O:BA${ROOT_ONLY_SDDL}`)),
    ).rejects.toThrow(/link/);
  });
});
