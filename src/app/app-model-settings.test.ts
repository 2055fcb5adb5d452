import { afterEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { createEngine } from "../engine/engine.js";
import type { AccessRequest } from "../engine/tunnels/access-factories.js";
import type { TunnelSettings } from "../engine/tunnels/tunnel-settings.js";
import { TunnelSet } from "../engine/tunnels/tunnel-set.js";
import { AppModel } from "./app-model.js";

const fakes: FakeMinikube[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.destroy();
});

/**
 * What the app's Preferences hand the engine at Start. The engine's own tunnel set decides the mode and asks for the
 * access; the access itself (an SSH link to a node) cannot be built here, so its factory only keeps the request.
 */
async function appWith(prefs: { names?: () => boolean; nodePorts?: () => boolean }) {
  const fake = await FakeMinikube.create();
  fakes.push(fake);
  await fake.addProfile({ name: "minikube", nodeIp: "192.168.49.2" });
  const engine = await createEngine({ env: fake.env(), podCidrSource: null, names: false });
  const asked: TunnelSettings[] = [];
  const tunnels = new TunnelSet({
    miniPath: engine.miniPath,
    decideMode: engine.decideMode,
    kubeConfig: engine.kubeConfig,
    createAccess: async (request: AccessRequest) => {
      asked.push(request.settings);
      throw new Error("no node to reach in this test");
    },
  });
  const model = new AppModel({
    engine: { ...engine, tunnels },
    loadBalancer: () => ({ enabled: true, mode: "clusterip", pool: [], className: null, releaseOnStop: true }),
    accessMode: () => "forward",
    ...prefs,
  });
  return { model, asked };
}

describe("the app hands its preferences to the engine at each Start", () => {
  it("node ports: on unless the preference turns them off, read again at the next Start", async () => {
    let nodePorts = false;
    const { model, asked } = await appWith({ nodePorts: () => nodePorts, names: () => false });
    await expect(model.start("minikube")).rejects.toThrow("no node to reach");
    nodePorts = true;
    await expect(model.start("minikube")).rejects.toThrow("no node to reach");
    expect(asked.map((s) => [s.mode, s.nodePorts, s.names])).toEqual([
      ["forward", false, false],
      ["forward", true, false],
    ]);
    await model.shutdown();

    const defaults = await appWith({});
    await expect(defaults.model.start("minikube")).rejects.toThrow("no node to reach");
    expect(defaults.asked.map((s) => [s.nodePorts, s.names])).toEqual([[true, true]]);
    await defaults.model.shutdown();
  });
});
