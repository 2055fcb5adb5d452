import { describe, expect, it } from "vitest";
import type { AppState, ProfileView, RouteView } from "../shared/app-state.js";
import { notificationsBetween } from "./state-notifications.js";

const route = (cidr: string, state: RouteView["state"]): RouteView => ({
  cidr,
  gateway: "192.168.49.2",
  kind: "service",
  state,
  ...(state === "conflict"
    ? {
        conflict: {
          requested: cidr,
          existing: { destination: "10.96.0.0/16", gateway: "192.168.49.7", interface: "br-1" },
          reason: "overlap",
          message: `${cidr} overlaps 10.96.0.0/16 via 192.168.49.7 dev br-1`,
        },
      }
    : {}),
});
const profile = (phase: string, routes: RouteView[] = []): ProfileView => ({
  profile: "minikube",
  running: phase !== "stopped",
  phase,
  nodeIp: "192.168.49.2",
  routes,
  services: [],
  probe: null,
});
const state = (...profiles: ProfileView[]): AppState => ({ profiles, error: null, busy: false });

describe("notifications between two states", () => {
  it("a new conflict is announced once, with the reason", () => {
    const first = notificationsBetween(
      state(profile("starting")),
      state(profile("active", [route("10.96.0.0/12", "conflict")])),
    );
    expect(first).toEqual([
      {
        kind: "conflict",
        title: "Route conflict: 10.96.0.0/12",
        body: "10.96.0.0/12 overlaps 10.96.0.0/16 via 192.168.49.7 dev br-1",
      },
    ]);
    expect(
      notificationsBetween(
        state(profile("active", [route("10.96.0.0/12", "conflict")])),
        state(profile("active", [route("10.96.0.0/12", "conflict")])),
      ),
    ).toEqual([]);
  });

  it("a running tunnel whose node stops is announced; a user's Stop is not", () => {
    expect(notificationsBetween(state(profile("active")), state(profile("waiting-for-node")))[0]).toMatchObject({
      kind: "node-stopped",
      title: "Tunnel for minikube stopped",
    });
    expect(notificationsBetween(state(profile("active")), state(profile("stopped")))).toEqual([]);
  });
});
