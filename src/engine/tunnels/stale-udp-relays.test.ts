import { afterEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../../test-support/fake-minikube.js";
import type { ContainerCli } from "../cluster/container-cli.js";
import { removeUdpRelaysOfGoneTunnels } from "./stale-udp-relays.js";

// cleanup's part for forward mode's UDP relays, against an engine that records what it is asked (the real engine's
// part: mktunnel-forward-udp.integration.test.ts, "kill -9 leaves the relay; cleanup … removes it").

const fakes: FakeMinikube[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.destroy();
});

class RecordingEngine {
  readonly removed: string[] = [];
  constructor(readonly relays: Record<string, string[]>) {}
  async udpRelays(profile: string) {
    return this.relays[profile] ?? [];
  }
  async remove(names: readonly string[]) {
    this.removed.push(...names);
  }
}

async function miniPathWith(...profiles: string[]): Promise<string> {
  const fake = await FakeMinikube.create();
  fakes.push(fake);
  for (const name of profiles) await fake.addProfile({ name, nodeIp: "192.168.49.2" });
  return fake.miniPath;
}

const engineFor = (engine: RecordingEngine) => () => engine as unknown as ContainerCli;

describe("removeUdpRelaysOfGoneTunnels", () => {
  it("removes the relays of a profile whose tunnel lock nobody holds, and only that profile's", async () => {
    const miniPath = await miniPathWith("dev", "dev2");
    const engine = new RecordingEngine({ dev: ["mktunnel-udp-dev-30053"], dev2: [] });
    const locks = { check: async () => null };
    expect(await removeUdpRelaysOfGoneTunnels(miniPath, ["dev", "dev2"], new Set(), engineFor(engine), locks)).toEqual([
      { profile: "dev", removed: ["mktunnel-udp-dev-30053"], failures: [] },
    ]);
    expect(engine.removed).toEqual(["mktunnel-udp-dev-30053"]);
  });

  it("leaves a running tunnel's relays alone, and those of a profile whose lock cannot be read", async () => {
    const miniPath = await miniPathWith("dev", "odd");
    const engine = new RecordingEngine({ dev: ["mktunnel-udp-dev-30053"], odd: ["mktunnel-udp-odd-30053"] });
    const locks = {
      check: async (profile: string) => {
        if (profile === "odd") throw new Error("EACCES: permission denied");
        return { kind: "minikube-tunnel" } as never;
      },
    };
    expect(await removeUdpRelaysOfGoneTunnels(miniPath, ["dev", "odd"], new Set(), engineFor(engine), locks)).toEqual([
      { profile: "dev", removed: [], failures: [], skipped: "a tunnel for it is running" },
      {
        profile: "odd",
        removed: [],
        failures: [],
        skipped: "cannot tell whether a tunnel for it runs: EACCES: permission denied",
      },
    ]);
    expect(engine.removed).toEqual([]);
  });

  it("a tunnel that takes the lock while the relays are listed keeps them", async () => {
    const miniPath = await miniPathWith("dev");
    const engine = new RecordingEngine({ dev: ["mktunnel-udp-dev-30053"] });
    let checks = 0;
    const locks = { check: async () => (++checks === 1 ? null : ({ kind: "minikube-tunnel" } as never)) };
    expect(await removeUdpRelaysOfGoneTunnels(miniPath, ["dev"], new Set(), engineFor(engine), locks)).toEqual([
      { profile: "dev", removed: [], failures: [], skipped: "a tunnel for it is running" },
    ]);
    expect(engine.removed).toEqual([]);
  });
});
