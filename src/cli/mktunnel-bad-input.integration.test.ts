import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import { runCli } from "../../test-support/cli-process.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: mktunnel bad-input tests: ${skip}`);

/** Every bad input ends in one clear line on stderr, a non-zero exit, and no change to any file or route. */
describe.skipIf(skip !== null)("mktunnel refuses bad input", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;

  beforeAll(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
  });
  afterAll(async () => {
    await lab?.destroy();
    await fake?.destroy();
  });

  async function expectRefused(args: string[], pattern: RegExp, env = fake.env()) {
    const routesBefore = await lab.hostRoutes();
    const result = await runCli(lab.host, args, env);
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mktunnel: /);
    expect(lines[0]).toMatch(pattern);
    expect(await lab.hostRoutes()).toBe(routesBefore);
    return result;
  }

  it("malformed tunnels.json: named in the error and kept byte for byte", async () => {
    const content = '[{"Route":{"Gateway":"192.168.49.2","DestCIDR":{"IP":"10.96.0.0"'; // cut short
    await writeFile(fake.registryPath, content);
    await expectRefused(
      ["start"],
      new RegExp(`tunnel registry ${fake.registryPath.replace(/[.]/g, "\\.")} cannot be read: not valid JSON`),
    );
    await expectRefused(["cleanup"], /cannot be read: not valid JSON/);
    await expectRefused(["status", "--json"], /cannot be read/);
    expect(await readFile(fake.registryPath, "utf8")).toBe(content);
    expect((await readdir(fake.miniPath)).filter((f) => f.startsWith("tunnels.json"))).toEqual(["tunnels.json"]);
    await writeFile(fake.registryPath, "[]");
  });

  it("malformed profile config: names the file", async () => {
    const dir = join(fake.miniPath, "profiles", "broken");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "config.json"), "{not json");
    await expectRefused(
      ["start", "--profile", "broken"],
      /profile "broken": profile config .*profiles\/broken\/config\.json: not valid JSON/,
    );
    expect(await readFile(join(dir, "config.json"), "utf8")).toBe("{not json");
    expect(await readFile(fake.registryPath, "utf8")).toBe("[]");
  });

  it.each([["10.0.0.0/33"], ["10.96.0.1/12"], ["banana"], ["10.0.0.0/8;reboot"]])(
    "invalid CIDR %s names the value",
    async (cidr) => {
      await expectRefused(
        ["start", "--lb-mode", "pool", "--lb-pool", cidr],
        new RegExp(`invalid CIDR "${cidr.replace(/[./]/g, "\\$&")}"`),
      );
    },
  );

  it.each([["../etc"], ["a/b"], ["..%2f"]])("profile name %s is refused", async (name) => {
    await expectRefused(["start", "--profile", name], /invalid profile name/);
    await expectRefused(["status", "--profile", name], /invalid profile name/);
  });

  it("minikube missing from PATH says so", async () => {
    const env = fake.env();
    env.PATH = `${process.execPath.replace(/\/node$/, "")}:/usr/sbin:/usr/bin:/sbin:/bin`
      .split(":")
      .filter((p) => p !== fake.binDir)
      .join(":");
    await expectRefused(["start"], /minikube was not found \(looked for "minikube" on PATH\)/, env);
  });

  it("an unknown option is a usage error (exit 2)", async () => {
    const result = await expectRefused(["start", "--bogus"], /unknown option '--bogus'/);
    expect(result.code).toBe(2);
  });
});
