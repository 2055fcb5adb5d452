import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test-support/eventually.js";
import { HELPER_SCRIPT, helperFiles, stopHelpersOf } from "../../../test-support/helper-lab.js";
import { labUnavailableReason, NetnsLab } from "../../../test-support/netns-lab.js";
import { parseCidr } from "../../shared/cidr.js";
import { startHelper } from "./elevation.js";

const skip = labUnavailableReason();
describe.skipIf(skip !== null)("already root: the helper is started directly", () => {
  let lab: NetnsLab;
  let files: Awaited<ReturnType<typeof helperFiles>>;
  beforeEach(async () => {
    lab = await NetnsLab.create();
    files = await helperFiles({ uid: 0, gid: 0 });
  });
  afterEach(async () => {
    // The helper ends when its client goes; a test that failed before close() leaves it running.
    await stopHelpersOf(files);
    await lab.destroy();
    await files.cleanup();
  });

  it("startHelper('direct') runs it without a prompt, connects with the secret, and routes go through it", async () => {
    // The runtime is wrapped in `ip netns exec` so the root helper lives in the lab, not on this machine.
    const launch = {
      runtime: "ip",
      runtimeArgs: ["netns", "exec", lab.host, process.execPath],
      script: HELPER_SCRIPT,
      runtimeDir: files.runtimeDir,
      logFile: files.logFile,
      registry: files.registry,
    };
    const client = await startHelper(launch, "direct", 0);
    await client.declare({
      profile: "minikube",
      nodeIp: lab.nodeIp,
      cidrs: [parseCidr("10.96.0.0/12")],
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
    });
    expect(
      await client.addRoutes([{ destination: parseCidr("10.96.0.0/12"), gateway: lab.nodeIp, profile: "minikube" }]),
    ).toEqual([{ kind: "added" }]);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    await client.close();
    await eventually(async () => !(await lab.hostRoutes()).includes("10.96.0.0/12"), {
      timeoutMs: 2000,
      everyMs: 20,
      what: "the helper to remove the route when its client closed",
    });
    expect(await readFile(files.logFile, "utf8")).toContain("add 10.96.0.0/12 via 192.168.49.2 (minikube)");
  });
});
