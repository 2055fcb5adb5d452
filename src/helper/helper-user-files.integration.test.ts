import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  startHelperIn,
  TestUser,
  createHelperLab,
  destroyHelperLab,
  type HelperFiles,
} from "../../test-support/helper-lab.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import { HelperClient } from "../engine/elevation/helper-client.js";
import { parseCidr } from "../shared/cidr.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: helper and the user's files: ${skip}`);

/**
 * The helper runs as root and touches files in the user's MINIPATH and temp
 * directory: its log, the secret file, tunnels.json. Each planted as a link to
 * a root-owned file must be refused, with the target left exactly as it was.
 */
describe.skipIf(skip !== null)("the root helper never follows a link the user planted", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let target: string;

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    await mkdir(join(files.root, "vault"), { mode: 0o700 });
    target = join(files.root, "vault", "shadow");
    await writeFile(target, "a".repeat(64), { mode: 0o600 });
  });
  afterEach(async () => {
    await destroyHelperLab({ lab, user, files });
  });

  async function expectTargetUntouched(): Promise<void> {
    const info = await stat(target);
    expect(await readFile(target, "utf8")).toBe("a".repeat(64));
    expect(info.uid).toBe(0);
    expect(info.mode & 0o777).toBe(0o600);
  }

  it("its log file planted as a link: the helper refuses to start and says why", async () => {
    await symlink(target, files.logFile);
    const error = await startHelperIn(lab.host, files).catch((e: { stderr?: string }) => e);
    expect(String((error as { stderr?: string }).stderr)).toContain(
      `refusing to use ${files.logFile}: it is a symbolic link`,
    );
    await expectTargetUntouched();
    expect(existsSync(files.socketPath)).toBe(false);
  });

  it("the secret file planted as a link to a root-owned file: refused, so root is never taken for the user", async () => {
    await rm(files.secretFile);
    await symlink(target, files.secretFile);
    const error = await startHelperIn(lab.host, files).catch((e: { stderr?: string }) => e);
    expect(String((error as { stderr?: string }).stderr)).toContain(
      `refusing to use ${files.secretFile}: it is a symbolic link`,
    );
    await expectTargetUntouched();
    expect(existsSync(join(files.runtimeDir, "helper-0.sock"))).toBe(false);
  });

  it("tunnels.json planted as a link: the helper adds no route and writes nothing through it", async () => {
    await symlink(target, files.registry);
    await startHelperIn(lab.host, files);
    const client = await HelperClient.connect(files.socketPath, files.secret);
    const owner = await user.process();
    await client.hello(undefined, owner.pid);
    await client.declare({
      profile: "minikube",
      nodeIp: lab.nodeIp,
      cidrs: [parseCidr("10.96.0.0/12")],
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
    });
    expect(
      await client.addRoutes([{ destination: parseCidr("10.96.0.0/12"), gateway: lab.nodeIp, profile: "minikube" }]),
    ).toEqual([
      {
        kind: "failed",
        error: `helper refused: refusing to use ${files.registry}: it is a symbolic link; nothing was read, written or chowned`,
      },
    ]);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    await client.close();
    await expectTargetUntouched();
  });
});
