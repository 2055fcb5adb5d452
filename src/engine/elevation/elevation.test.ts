import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HELPER_SCRIPT, helperFiles } from "../../../test-support/helper-lab.js";
import { labUnavailableReason, NetnsLab } from "../../../test-support/netns-lab.js";
import { parseCidr } from "../../shared/cidr.js";
import { explainElevationFailure, helperArgv, shellQuote, startHelper } from "./elevation.js";

const run = promisify(execFile);

describe("the command handed to sudo-prompt", () => {
  const launch = { runtime: "/Applications/Minikube Tunnel.app/Contents/MacOS/node", runtimeArgs: [], script: "/opt/it's here/helper main.js", runtimeDir: "/var/run/minikube-tunnel", logFile: "/Users/o'brien/Library/Logs/mk tunnel/helper.log", registry: "/Users/o'brien/.minikube/tunnels.json" };

  it("puts the secret's file on the command line, never the secret", () => {
    const argv = helperArgv(launch, "/tmp/mktunnel-x/secret");
    expect(argv).toContain("/tmp/mktunnel-x/secret");
    expect(argv.join(" ")).not.toMatch(/[0-9a-f]{64}/);
  });

  it.each([
    [["plain", "/usr/bin/node"], "plain /usr/bin/node"],
    [["/path with spaces/node"], "'/path with spaces/node'"],
    [["it's"], "'it'\\''s'"],
    [['say "hi"'], `'say "hi"'`],
    [["$(id)", "`id`", "a;b", "a&b", "a|b", "*"], "'$(id)' '`id`' 'a;b' 'a&b' 'a|b' '*'"],
    [["line\nbreak"], "'line\nbreak'"],
    [[""], "''"],
  ])("quotes %j as %s", (argv, quoted) => {
    expect(shellQuote(argv)).toBe(quoted);
  });

  it("survives a real shell: every argument comes back byte for byte", async () => {
    const argv = helperArgv(launch, "/tmp/dir with 'quotes'/secret");
    const { stdout } = await run("/bin/sh", ["-c", `printf '%s\\0' ${shellQuote(argv)}`]);
    expect(stdout.split("\0").slice(0, -1)).toEqual(argv);
  });

  it.each([
    ["User did not grant permission.", /request was declined/],
    ["No polkit authentication agent found.", /no polkit authentication agent/],
    ["Unable to find pkexec or kdesudo.", /neither pkexec nor kdesudo/],
    ["sudo: 3 incorrect password attempts", /request was declined/],
    ["mktunnel-helper: refusing to run as root: /opt is writable", /failed to start: mktunnel-helper: refusing.*log ends with: last line/],
  ])("explains %j", (message, expected) => {
    expect(explainElevationFailure(new Error(message), "last line").message).toMatch(expected);
  });
});

const skip = labUnavailableReason();
describe.skipIf(skip !== null)("already root: the helper is started directly", () => {
  let lab: NetnsLab;
  let files: Awaited<ReturnType<typeof helperFiles>>;
  beforeEach(async () => {
    lab = await NetnsLab.create();
    files = await helperFiles({ uid: 0, gid: 0 });
  });
  afterEach(async () => {
    await lab.destroy();
    await files.cleanup();
  });

  it("startHelper('direct') runs it without a prompt, connects with the secret, and routes go through it", async () => {
    // The runtime is wrapped in `ip netns exec` so the root helper lives in the lab, not on this machine.
    const launch = { runtime: "ip", runtimeArgs: ["netns", "exec", lab.host, process.execPath], script: HELPER_SCRIPT, runtimeDir: files.runtimeDir, logFile: files.logFile, registry: files.registry };
    const client = await startHelper(launch, "direct", 0);
    await client.declare({ profile: "minikube", nodeIp: lab.nodeIp, cidrs: [parseCidr("10.96.0.0/12")], clusterDomain: "cluster.local", clusterDnsIp: "10.96.0.10" });
    expect(await client.addRoutes([{ destination: parseCidr("10.96.0.0/12"), gateway: lab.nodeIp, profile: "minikube" }])).toEqual([{ kind: "added" }]);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    await client.close();
    const deadline = Date.now() + 2000;
    while ((await lab.hostRoutes()).includes("10.96.0.0/12") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(await readFile(files.logFile, "utf8")).toContain("add 10.96.0.0/12 via 192.168.49.2 (minikube)");
  });
});

