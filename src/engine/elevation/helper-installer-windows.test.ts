import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandRunner } from "../system/command-runner.js";
import { SYSTEM_PREFIX } from "./helper-layout.js";
import { HelperInstallError, installHelper } from "./helper-installer.js";
import type { WindowsSecurity } from "./acl-windows.js";
import { ROOT_ONLY_SDDL, parseSddl } from "./sddl-windows.js";

describe("root's runtime folder at a real Windows install, attacked by a user who made it first", () => {
  const ADMIN = "S-1-5-21-1004336348-1177238915-682003330-500";
  const USER = "S-1-5-21-1004336348-1177238915-682003330-1001";
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-install-runtime-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The folder as Windows would describe it (null: missing, so created), and no such user: install stops there. */
  const windows =
    (existing: string | null, made: string[]): (() => WindowsSecurity) =>
    () =>
      ({
        createDirectory: (path: string, sddl: string) =>
          existing === null ? (made.push(`${path} ${sddl}`), true) : false,
        describe: () => parseSddl(existing!),
        processUserSid: () => ADMIN,
        accountSid: () => null,
      }) as unknown as WindowsSecurity;
  const sc: CommandRunner = {
    run: async (file, args) => {
      throw new Error(`nothing may run before the folder is judged: ${file} ${args.join(" ")}`);
    },
  };
  const install = (runtimeDir: string, security: () => WindowsSecurity) =>
    installHelper({
      prefix: SYSTEM_PREFIX,
      user: "alice",
      noStart: false,
      platform: "win32",
      runner: sc,
      windows: security,
      runtimeDir,
      sources: { runtime: "", cli: "", helper: "", packages: [] },
    });

  it("a folder a user made first fails the install, naming the folder and what to do, before anything is changed", async () => {
    const made: string[] = [];
    const userMade = `O:${USER}D:AI(A;;FA;;;${USER})(A;OICIIOID;GA;;;CO)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)`;
    const refused = await install(dir, windows(userMade, made)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(HelperInstallError);
    expect((refused as Error).message).toContain(`root's runtime folder ${dir} is not safe for the helper`);
    expect((refused as Error).message).toContain(`owned by ${USER}`);
    expect((refused as Error).message).toMatch(
      /an administrator should check what is in it, delete it, and install again/,
    );
    expect(made).toEqual([]);
  });

  it("a missing folder is created for SYSTEM and Administrators alone, and the install goes on", async () => {
    const made: string[] = [];
    const fresh = join(dir, "minikube-tunnel");
    // The fake knows no user: the install gets past the folder and stops at the account.
    await expect(install(fresh, windows(null, made))).rejects.toThrow('no such user "alice"');
    expect(made).toEqual([`${fresh} ${ROOT_ONLY_SDDL}`]);
  });
});
