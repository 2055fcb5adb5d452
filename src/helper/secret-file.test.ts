import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSddl } from "../engine/elevation/sddl-windows.js";
import { readSecretFile } from "./secret-file.js";

const SECRET = "ab".repeat(32);
const USER = "S-1-5-21-1004336348-1177238915-682003330-1001";

describe("the per-session helper's secret file", () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-secret-"));
    path = join(dir, "secret");
    await writeFile(path, SECRET);
    // What Node on Windows reports for every file: its mode bits say nothing there.
    await chmod(path, 0o666);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const windows = (sddl: string) => ({ describe: () => parseSddl(sddl) });

  it("on POSIX, a secret others can read is refused", async () => {
    await expect(readSecretFile(path, "linux")).rejects.toThrow(/readable or writable by others.*0600/);
  });

  it("on Windows the mode is not looked at; the file's DACL is: its owner, SYSTEM and Administrators only", async () => {
    const secret = await readSecretFile(path, "win32", windows(`O:${USER}D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)`));
    expect(secret.value).toBe(SECRET);
    await expect(
      readSecretFile(path, "win32", windows(`O:${USER}D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;0x1200a9;;;BU)`)),
    ).rejects.toThrow(/can be read by S-1-5-32-545/);
  });
});
