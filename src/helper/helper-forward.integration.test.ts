import { type ChildProcess, spawn } from "node:child_process";
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { portableCopy } from "../../test-support/bundles.js";
import { timeUntil } from "../../test-support/eventually.js";
import {
  TestUser,
  startHelperIn,
  createHelperLab,
  destroyHelperLab,
  type HelperFiles,
} from "../../test-support/helper-lab.js";
import { NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { SshNode } from "../../test-support/ssh-node.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: forward mode's privileged ports through the helper: ${skip}`);

describe.skipIf(skip !== null)("forward mode: port 80 for a normal user, through the helper", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let node: SshNode;
  let userDir: string;
  const cleanups: (() => Promise<void>)[] = [];
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    await startHelperIn(lab.host, files);
    userDir = await mkdtemp(join(tmpdir(), "mkt-fwd-user-"));
    await chmod(userDir, 0o755);
    node = await SshNode.start(lab, join(userDir, "root-key"));
    // The user's own copy of minikube's machine key and of the node's host key, as in their MINIPATH.
    await copyFile(join(userDir, "root-key"), join(userDir, "id_rsa"));
    await writeFile(join(userDir, "host-keys"), await node.keyscanLines());
    for (const f of ["id_rsa", "host-keys"]) await chown(join(userDir, f), user.uid, user.gid);
    await lab.addServiceAddress("10.96.0.20");
    await lab.startTcpServer("10.96.0.20", 80, "web");
  });

  afterEach(async () => {
    // The user's process, if the test failed before killing it.
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await node.stop();
    await destroyHelperLab({ lab, user, files });
    await rm(userDir, { recursive: true, force: true });
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("the user's process cannot bind 80; the helper listens there and relays to it; kill -9 of the user's process closes port 80 within 1 s", async () => {
    const portable = await portableCopy("forward-user-proc");
    cleanups.push(portable.cleanup);
    const [file, args] = user.as(
      portable.node,
      portable.script,
      files.socketPath,
      files.secret,
      String(node.publishedPort),
      join(userDir, "id_rsa"),
      join(userDir, "host-keys"),
      "127.64.0.5",
      "80",
      "10.96.0.20",
      "80",
    );
    const proc = spawn("ip", ["netns", "exec", lab.host, file, ...args], {
      cwd: "/",
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(proc);
    let stderr = "";
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout }).once("line", resolve);
      proc.once("exit", (code) => reject(new Error(`user process exited ${code}: ${stderr}`)));
    });
    const report = JSON.parse(first);
    expect(report.link.state).toBe("up");
    expect(report.forwards).toEqual([expect.objectContaining({ address: "127.64.0.5", port: 80, state: "listening" })]);
    expect(await lab.connectFromHost("127.64.0.5", 80)).toBe("web");

    proc.kill("SIGKILL");
    const took = await timeUntil(async () => (await lab.connectFromHost("127.64.0.5", 80, 300)) === "ECONNREFUSED", {
      timeoutMs: 1000,
      what: "port 80 closed",
    });
    console.log(`[helper] port 80 closed ${Math.round(took)} ms after kill -9 of the user's process`);
  });
});
