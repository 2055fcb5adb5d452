import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../../test-support/fake-minikube.js";
import { execFileRunner, type CommandRunner } from "../system/command-runner.js";
import { ClusterInspector } from "./cluster-inspector.js";
import { MinikubeCli } from "./minikube-cli.js";
import { activeProfile, missingProfileMessage, readProfileConfig } from "./profile-config.js";

let fake: FakeMinikube;
/** Runs the fake minikube with its environment, as a child process would see it. */
let runner: CommandRunner;

beforeEach(async () => {
  fake = await FakeMinikube.create();
  const env = fake.env();
  runner = {
    run: (file, args, options) =>
      execFileRunner.run(
        "env",
        [`PATH=${env.PATH}`, `FAKE_MINIKUBE_STATE=${env.FAKE_MINIKUBE_STATE}`, file, ...args],
        options,
      ),
  };
});
afterEach(() => fake.destroy());

describe("profile config", () => {
  it("reads the fields the tunnel needs, with minikube's defaults", async () => {
    await fake.addProfile({
      name: "minikube",
      nodeIp: "192.168.49.2",
      extraConfig: { KubernetesConfig: { LoadBalancerStartIP: "10.96.200.1", LoadBalancerEndIP: "10.96.200.50" } },
    });
    const config = await readProfileConfig(fake.miniPath, "minikube");
    expect(config).toMatchObject({
      name: "minikube",
      serviceCidr: "10.96.0.0/12",
      dnsDomain: "cluster.local",
      apiPort: 8443,
      loadBalancerRange: { start: "10.96.200.1", end: "10.96.200.50" },
    });
  });

  it("names the file and the problem for malformed JSON, and leaves it alone", async () => {
    const dir = join(fake.miniPath, "profiles", "broken");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "config.json"), '{"Name": "broken", ');
    await expect(readProfileConfig(fake.miniPath, "broken")).rejects.toThrow(
      `profile config ${join(dir, "config.json")}: not valid JSON`,
    );
    expect(await readFile(join(dir, "config.json"), "utf8")).toBe('{"Name": "broken", ');
  });

  it("rejects an invalid service CIDR by field name", async () => {
    await fake.addProfile({ name: "bad", nodeIp: "192.168.49.2", serviceCidr: "10.96.0.0/40" });
    await expect(readProfileConfig(fake.miniPath, "bad")).rejects.toThrow("KubernetesConfig.ServiceCIDR: invalid CIDR");
  });

  it("a missing profile is said once, with what to do: the profiles there are, minikube start, or how to get minikube", async () => {
    await fake.addProfile({ name: "dev", nodeIp: "192.168.49.2" });
    await expect(readProfileConfig(fake.miniPath, "nope")).rejects.toThrow(
      `minikube has no profile "nope"; the profiles in ${fake.miniPath} are dev: choose one with --profile dev, or create "nope" with \`minikube start -p nope\``,
    );
    const empty = join(fake.root, "empty", ".minikube");
    expect(await missingProfileMessage(empty, "minikube", { PATH: fake.binDir })).toBe(
      `minikube has no profile "minikube" yet (${join(empty, "profiles")} is empty): create the cluster with \`minikube start\`, then run this again`,
    );
    expect(await missingProfileMessage(empty, "minikube", { PATH: "/nonexistent" })).toMatch(
      /^minikube is not on PATH and .* holds no cluster: install minikube \(https:\/\/minikube\.sigs\.k8s\.io\/docs\/start\/\)/,
    );
  });

  it("finds the active profile from minikube's config, else minikube", async () => {
    expect(await activeProfile(fake.miniPath, {})).toBe("minikube");
    await mkdir(join(fake.miniPath, "config"), { recursive: true });
    await writeFile(join(fake.miniPath, "config", "config.json"), '{"profile":"dev"}');
    expect(await activeProfile(fake.miniPath, {})).toBe("dev");
    expect(await activeProfile(fake.miniPath, { MINIKUBE_PROFILE: "env" })).toBe("env");
  });
});

describe("minikube commands", () => {
  it("reads status JSON even though minikube exits non-zero for a stopped host", async () => {
    await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2", host: "Stopped" });
    const cli = new MinikubeCli("minikube", runner);
    expect((await cli.status("minikube")).host).toBe("Stopped");
    await fake.setHost("minikube", "Running");
    expect(await cli.status("minikube")).toMatchObject({ host: "Running", apiServer: "Running" });
    expect(await cli.ip("minikube")).toBe("192.168.49.2");
  });

  it("picks the control plane from a multi-node status array", async () => {
    await fake.addProfile({ name: "multi", nodeIp: "192.168.58.2" });
    await writeFile(
      join(fake.stateDir, "multi.status-raw"),
      '[{"Name":"multi","Host":"Running"},{"Name":"multi-m02","Host":"Stopped"}]',
    );
    expect((await new MinikubeCli("minikube", runner).status("multi")).host).toBe("Running");
  });

  it("explains a missing minikube binary", async () => {
    const cli = new MinikubeCli("minikube-definitely-missing");
    await expect(cli.status("minikube")).rejects.toThrow(
      'minikube was not found (looked for "minikube-definitely-missing" on PATH)',
    );
  });

  it("inspects a running profile into the CIDRs to route, and a stopped one into none", async () => {
    await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2" });
    const pods = { podCidrs: async () => ["10.244.0.0/24", "10.244.1.0/24", "10.100.0.0/24"] };
    const inspector = new ClusterInspector(fake.miniPath, new MinikubeCli("minikube", runner), pods);
    const view = await inspector.inspect("minikube");
    // 10.100.0.0/24 lies inside the service CIDR and is reached through that route already.
    expect(view.cidrs.map((c) => `${c.kind}:${c.cidr.text}`)).toEqual([
      "service:10.96.0.0/12",
      "pod:10.244.0.0/24",
      "pod:10.244.1.0/24",
    ]);
    expect(view.clusterDnsIp).toBe("10.96.0.10");
    await fake.setHost("minikube", "Stopped");
    expect((await inspector.inspect("minikube")).cidrs).toEqual([]);
  });

  it("keeps going without pod CIDRs when the API cannot be asked, and says why", async () => {
    await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2" });
    const inspector = new ClusterInspector(fake.miniPath, new MinikubeCli("minikube", runner), {
      podCidrs: async () => {
        throw new Error("connect ECONNREFUSED");
      },
    });
    const view = await inspector.inspect("minikube");
    expect(view.cidrs).toHaveLength(1);
    expect(view.podCidrError).toBe("connect ECONNREFUSED");
  });

  it("attack: a Node that claims a pod range wider than a cluster gives (10.0.0.0/8, the office's network) is not routed, and says so; the others are", async () => {
    await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2" });
    const pods = { podCidrs: async () => ["10.244.0.0/24", "10.0.0.0/8", "fd00:10:244::/32"] };
    const view = await new ClusterInspector(fake.miniPath, new MinikubeCli("minikube", runner), pods).inspect(
      "minikube",
    );
    expect(view.cidrs.map((c) => `${c.kind}:${c.cidr.text}`)).toEqual(["service:10.96.0.0/12", "pod:10.244.0.0/24"]);
    expect(view.podCidrError).toBe(
      "10.0.0.0/8 (wider than /16), fd00:10::/32 (wider than /48): more than a cluster gives its nodes; not routed",
    );
  });
});
