import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeNrptPowerShell as fakePowerShell } from "../../../../test-support/fake-nrpt-powershell.js";
import { PlainFiles } from "../../system/file-access.js";
import { NrptRules } from "./dns-resolver-windows.js";
import { ResolverFiles } from "./dns-resolver-darwin.js";

const owner = { pid: 4242, started: "81234567" };
const dns = { profile: "minikube", domain: "cluster.local", server: "10.96.0.10", gateway: "192.168.49.2" };
// The writer 4242 is alive; every other pid is dead.
const deadOnly = async (pid: number) => pid === 4242;

describe("macOS: /etc/resolver/<domain> (resolver(5))", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "mkt-resolver-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const files = (who = owner) => new ResolverFiles(who, dir, new PlainFiles(() => false));

  it("writes minikube's lines under our marker, and removes only its own file", async () => {
    const resolver = files();
    expect(await resolver.apply(dns)).toBe(`${join(dir, "cluster.local")} → 10.96.0.10`);
    expect(await readFile(join(dir, "cluster.local"), "utf8")).toBe(
      "# minikube-tunnel profile=minikube pid=4242 started=81234567\nnameserver 10.96.0.10\nsearch_order 1\ndomain cluster.local\n",
    );
    await resolver.remove("minikube");
    expect(await readdir(dir)).toEqual([]);
  });

  it("a file minikube tunnel (or the user) wrote is never overwritten or removed", async () => {
    await writeFile(join(dir, "cluster.local"), "nameserver 10.96.0.10\nsearch_order 1\n");
    await expect(files().apply(dns)).rejects.toThrow(
      `${join(dir, "cluster.local")} exists and is not this tunnel's (another tunnel's, minikube tunnel's, or written by hand); leaving it alone`,
    );
    expect(await readFile(join(dir, "cluster.local"), "utf8")).toBe("nameserver 10.96.0.10\nsearch_order 1\n");
  });

  it("after a crash, cleanup removes a file whose writer is dead and keeps a live one's", async () => {
    await files({ pid: 999_999, started: "1" }).apply(dns);
    await files().apply({ ...dns, profile: "dev", domain: "dev.local" });
    expect(await files().removeStale(deadOnly)).toEqual([join(dir, "cluster.local")]);
    expect(await readdir(dir)).toEqual(["dev.local"]);
  });
});

describe("Windows: NRPT rules through PowerShell's DnsClient cmdlets", () => {
  it("adds one rule for .<domain> marked as ours; removes only ours; replaces its own on a second apply", async () => {
    const ps = fakePowerShell();
    ps.rules.push({
      Name: "{00000000-0000-0000-0000-000000000001}",
      Namespace: [".corp.example"],
      NameServers: ["10.0.0.53"],
      Comment: "set by IT",
    });
    const nrpt = new NrptRules(owner, ps.runner);
    expect(await nrpt.apply(dns)).toBe("NRPT rule .cluster.local → 10.96.0.10");
    await nrpt.apply(dns);
    expect(ps.rules.map((r) => [r.Namespace[0], r.NameServers[0], r.Comment])).toEqual([
      [".corp.example", "10.0.0.53", "set by IT"],
      [".cluster.local", "10.96.0.10", "minikube-tunnel profile=minikube pid=4242 started=81234567"],
    ]);
    await nrpt.remove("minikube");
    expect(ps.rules.map((r) => r.Comment)).toEqual(["set by IT"]);
  });

  it("after a crash, cleanup removes the rules of a dead writer only", async () => {
    const ps = fakePowerShell();
    await new NrptRules({ pid: 999_999, started: "" }, ps.runner).apply(dns);
    await new NrptRules(owner, ps.runner).apply({ ...dns, profile: "dev", domain: "dev.local" });
    expect(await new NrptRules(owner, ps.runner).removeStale(deadOnly)).toHaveLength(1);
    expect(ps.rules.map((r) => r.Namespace[0])).toEqual([".dev.local"]);
  });

  it("refuses values that are not a domain and an address before any script runs", () => {
    expect(() => NrptRules.addScript({ ...dns, domain: "x'; Remove-Item C:\\ -Recurse; '" }, owner)).toThrow(
      "refusing an NRPT rule",
    );
    expect(() => NrptRules.addScript({ ...dns, server: "10.96.0.10; calc" }, owner)).toThrow("refusing an NRPT rule");
  });
});
