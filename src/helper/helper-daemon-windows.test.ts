import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openChannel } from "../engine/elevation/tcp-channel.js";
import type { WindowsSecurity } from "../engine/elevation/acl-windows.js";
import { SID, parseSddl, rootFileForUser } from "../engine/elevation/sddl-windows.js";
import { APP_VERSION } from "../shared/version.js";
import { eventually } from "../../test-support/eventually.js";
import { runDaemon, stopWhenInputEnds } from "./helper-daemon.js";
import type { HelperServer } from "./helper-server.js";

const ALICE = "S-1-5-21-1004336348-1177238915-682003330-1001";
const ROOT_OWNED = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)";

/**
 * The daemon's Windows path, run here with the platform given as win32: Node reports mode 0666 for every file there, so
 * the files are made 0666; what Windows would say of them comes from these descriptors. Wine runs the real thing
 * (test-support/wine-helper.integration.test.ts).
 */
describe("the installed helper's daemon on Windows (platform given)", () => {
  let dir: string;
  let config: string;
  let server: HelperServer | null = null;
  const created: [string, string][] = [];

  const windows =
    (sddl = ROOT_OWNED, sid: string | null = ALICE): (() => WindowsSecurity) =>
    () => ({
      describe: () => parseSddl(sddl),
      createDirectory: (path) => {
        try {
          mkdirSync(path);
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
          throw error;
        }
      },
      createFile: (path, data, descriptor) => {
        created.push([path, descriptor]);
        writeFileSync(path, data, { flag: "wx" });
      },
      accountSid: (name) => (name === "alice" ? sid : null),
      processUserSid: () => SID.SYSTEM,
    });
  const start = (security = windows()) =>
    runDaemon(config, join(dir, "helper-main.mjs"), () => undefined, {
      platform: "win32",
      env: { MKTUNNEL_HELPER_SOCKET: join(dir, "ProgramData", "minikube-tunnel", "helper.port") },
      windows: security,
      exit: () => undefined,
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mkt-daemon-win-"));
    config = join(dir, "helper.json");
    const record = { version: APP_VERSION, user: "alice", uid: 0, gid: 0, sid: ALICE, prefix: "/" };
    await writeFile(config, JSON.stringify({ ...record, installedAt: "", files: [], dirs: [] }));
    await chmod(config, 0o666);
    created.length = 0;
  });
  afterEach(async () => {
    await server?.shutdown();
    server = null;
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts its helper.json by its DACL, not its mode, and writes its secret and port as real files for the recorded user", async () => {
    server = await start();
    const runtime = join(dir, "ProgramData", "minikube-tunnel");
    const port = Number(await readFile(join(runtime, "helper.port"), "utf8"));
    const secret = await readFile(join(runtime, "helper.port.secret"), "utf8");
    expect(created.map(([path, sddl]) => [path.slice(runtime.length + 1), sddl])).toEqual([
      ["helper.port.secret.new", rootFileForUser(ALICE)],
      ["helper.port.new", rootFileForUser(ALICE)],
    ]);
    // The channel answers to that secret.
    const { socket } = await openChannel(port, secret);
    socket.destroy();
  });

  it("refuses a helper.json that Users can change, and a recorded name that now has another SID", async () => {
    await expect(start(windows(`${ROOT_OWNED}(A;;FA;;;BU)`))).rejects.toThrow(
      /helper\.json must be a file only SYSTEM and Administrators can change, but S-1-5-32-545 can change it/,
    );
    await expect(start(windows(ROOT_OWNED, "S-1-5-21-1-2-3-1009"))).rejects.toThrow(
      /the recorded user alice is S-1-5-21-1-2-3-1009 now, not S-1-5-21-1004336348-1177238915-682003330-1001/,
    );
  });

  it("a stop takes its channel away (the port file and the secret), so no client tries a port nobody serves", async () => {
    server = await start();
    const runtime = join(dir, "ProgramData", "minikube-tunnel");
    expect(existsSync(join(runtime, "helper.port"))).toBe(true);
    await server.shutdown();
    server = null;
    await eventually(
      () => !existsSync(join(runtime, "helper.port")) && !existsSync(join(runtime, "helper.port.secret")),
      { what: "the port file and the secret to go" },
    );
  });
});

describe("the service host's stop request (the end of the daemon's stdin)", () => {
  it("stops once when the host closes the pipe, whatever was written before; an error on it stops too", async () => {
    const input = new PassThrough();
    let stops = 0;
    stopWhenInputEnds(input, () => void stops++);
    input.write("anything\n");
    input.end();
    await eventually(() => stops === 1, { what: "the end of input to stop the daemon" });
    input.destroy(new Error("broken pipe"));
    const broken = new PassThrough();
    let brokenStops = 0;
    stopWhenInputEnds(broken, () => void brokenStops++);
    broken.destroy(new Error("broken pipe"));
    await eventually(() => brokenStops === 1, { what: "an error on input to stop the daemon" });
    expect(stops).toBe(1);
  });
});
