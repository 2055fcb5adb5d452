import { describe, expect, it } from "vitest";
import { nameView, publicName } from "../../test-support/name-views.js";
import type { AccessSnapshot } from "../engine/access/cluster-access.js";
import { appStateSchema, type IngressNameView } from "../shared/app-state.js";
import { buildAppState } from "./app-state-builder.js";

const snapshot = (over: Partial<AccessSnapshot> = {}): AccessSnapshot => ({
  profile: "minikube",
  mode: "route",
  phase: "active",
  host: "Running",
  nodeIp: "192.168.49.2",
  routes: [],
  probe: null,
  ...over,
});
const input = (snapshots: AccessSnapshot[]) => ({
  knownProfiles: ["minikube"],
  snapshots,
  services: new Map(),
  lbModes: new Map(),
  profileErrors: new Map(),
  error: null,
  busy: false,
  platform: "linux" as const,
});

describe("app state: Ingress and Gateway names", () => {
  it("carries each name of a running tunnel; one not mapped gets the curl --resolve line that reaches it", () => {
    const { curl: _added, ...publicInSnapshot } = publicName;
    const shop = nameView({ ports: [{ port: 443, protocol: "https" }] });
    const apps: IngressNameView = {
      host: "*.apps.test",
      object: "default/gw",
      address: "127.64.1.1",
      ports: [{ port: 80, protocol: "http", state: "port-in-use", error: "taken" }],
      mapped: false,
      reason: "no per-domain resolver",
      wildcard: true,
      via: ["HTTPRoute default/apps"],
    };
    const state = buildAppState(input([snapshot({ ingresses: [publicInSnapshot, shop], gateways: [apps] })]));
    expect(appStateSchema.parse(state)).toEqual(state);
    const [profile] = state.profiles;
    expect(profile!.ingresses).toEqual([publicName, shop]);
    expect(profile!.gateways).toEqual([apps]);
  });

  it("a stopped tunnel shows no names, and a snapshot without them none either", () => {
    const name = { host: "a.test", object: "default/a", address: "10.0.0.1", ports: [], mapped: true };
    const stopped = buildAppState(input([snapshot({ phase: "stopped", ingresses: [name] })]));
    expect(stopped.profiles[0]).not.toHaveProperty("ingresses");
    const none = buildAppState(input([snapshot()]));
    expect(none.profiles[0]).not.toHaveProperty("ingresses");
    expect(none.profiles[0]).not.toHaveProperty("gateways");
  });
});

describe("app state: forward mode's node ports", () => {
  it("carries each node port with its Service port, address and state; one taken here says by what", () => {
    const state = buildAppState(
      input([
        snapshot({
          mode: "forward",
          nodePorts: [
            {
              namespace: "default",
              name: "shop",
              address: "127.0.0.1",
              port: 30080,
              servicePort: 80,
              protocol: "TCP",
              target: "192.168.49.2:30080",
              state: "listening",
            },
            {
              namespace: "default",
              name: "shop",
              address: "127.0.0.1",
              port: 30081,
              servicePort: 81,
              protocol: "TCP",
              target: "192.168.49.2:30081",
              state: "port-in-use",
              error: "127.0.0.1:30081 is in use by another program",
            },
          ],
        }),
      ]),
    );
    expect(appStateSchema.parse(state)).toEqual(state);
    expect(state.profiles[0]!.nodePorts).toEqual([
      {
        namespace: "default",
        name: "shop",
        port: 80,
        nodePort: 30080,
        protocol: "TCP",
        address: "127.0.0.1",
        state: "listening",
      },
      {
        namespace: "default",
        name: "shop",
        port: 81,
        nodePort: 30081,
        protocol: "TCP",
        address: "127.0.0.1",
        state: "port-in-use",
        error: "127.0.0.1:30081 is in use by another program",
      },
    ]);
  });

  it("node ports turned off (or route mode) leave the profile without any", () => {
    const [off] = buildAppState(input([snapshot({ mode: "forward" })])).profiles;
    expect(off).not.toHaveProperty("nodePorts");
    const [none] = buildAppState(input([snapshot({ mode: "forward", nodePorts: [] })])).profiles;
    expect(none!.nodePorts).toEqual([]);
  });
});
