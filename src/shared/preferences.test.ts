import { describe, expect, it } from "vitest";
import { DEFAULT_PREFERENCES, migratePreferences } from "./preferences.js";

describe("preferences migrations", () => {
  it("starts from defaults", () => {
    expect(migratePreferences(undefined)).toEqual(DEFAULT_PREFERENCES);
  });

  it("migrates version 1 (flat LB keys, one auto-start profile)", () => {
    const migrated = migratePreferences({
      lbMode: "pool",
      lbPool: "172.30.0.0/24",
      autoStart: "dev",
      notifications: false,
    });
    expect(migrated).toMatchObject({
      version: 5,
      accessModes: {},
      names: true,
      nodePorts: true,
      autoStartProfiles: ["dev"],
      notifications: false,
      loadBalancer: { mode: "pool", pool: ["172.30.0.0/24"], releaseOnStop: true },
    });
  });

  it("migrates version 2: every profile reached the way minikube's rule says, names on", () => {
    const v2 = {
      version: 2,
      autoStartProfiles: ["minikube"],
      loadBalancer: { mode: "clusterip", pool: [], className: null, releaseOnStop: true },
      startAtLogin: false,
      notifications: true,
      minikubePath: null,
    };
    expect(migratePreferences(v2)).toEqual({
      ...v2,
      version: 5,
      accessModes: {},
      names: true,
      nodePorts: true,
      helper: "ask",
      helperUpgradeDeclined: null,
    });
    const v3 = { ...v2, version: 3, accessModes: { minikube: "forward" }, names: false, helper: "installed" };
    expect(migratePreferences(v3)).toEqual({ ...v3, version: 5, helperUpgradeDeclined: null, nodePorts: true });
    expect(() => migratePreferences({ ...DEFAULT_PREFERENCES, accessModes: { minikube: "tunnel" } })).toThrow(
      "preference accessModes.minikube",
    );
  });

  it("migrates version 4: node ports in forward mode stay on, as they were before the preference", () => {
    const { nodePorts: _added, ...v4 } = { ...DEFAULT_PREFERENCES, version: 4, names: false, helper: "installed" };
    expect(migratePreferences(v4)).toEqual({ ...v4, version: 5, nodePorts: true });
    expect(migratePreferences({ ...DEFAULT_PREFERENCES, nodePorts: false }).nodePorts).toBe(false);
    expect(() => migratePreferences({ ...DEFAULT_PREFERENCES, nodePorts: "no" })).toThrow("preference nodePorts");
  });

  it("keeps current preferences as they are", () => {
    const current = { ...DEFAULT_PREFERENCES, startAtLogin: true, minikubePath: "/opt/minikube" };
    expect(migratePreferences(current)).toEqual(current);
  });

  it("refuses a newer version and invalid values with a clear message", () => {
    expect(() => migratePreferences({ version: 99 })).toThrow("newer version (99)");
    expect(() => migratePreferences({ ...DEFAULT_PREFERENCES, autoStartProfiles: ["../x"] })).toThrow(
      "preference autoStartProfiles.0: invalid profile name",
    );
    expect(() => migratePreferences("nope")).toThrow("not an object");
  });
});
