import { describe, expect, it } from "vitest";
import { DEFAULT_PREFERENCES, type Preferences, preferencesSchema } from "../../shared/preferences.js";
import { PreferencesController, type PreferencesStorage } from "./preferences-controller.js";

/** PreferencesStore's contract without electron-store (which needs Electron): validate, keep, answer a copy. */
function memoryStorage(initial: Preferences = DEFAULT_PREFERENCES, writable = true) {
  let saved = structuredClone(initial);
  const writes: Preferences[] = [];
  const storage: PreferencesStorage = {
    get: () => structuredClone(saved),
    set: (next) => {
      const parsed = preferencesSchema.parse(next);
      if (!writable) throw new Error("preferences cannot be saved");
      saved = parsed;
      writes.push(parsed);
      return structuredClone(saved);
    },
  };
  return { storage, writes, saved: () => saved };
}

function controller(initial?: Preferences, packaged = true) {
  const store = memoryStorage(initial);
  const loginItem: boolean[] = [];
  const prefs = new PreferencesController(store.storage, packaged ? (open) => void loginItem.push(open) : null);
  return { prefs, store, loginItem };
}

describe("the preferences controller, the one way preferences change", () => {
  it("puts the login item in step with startAtLogin whichever path saves first, not only the window's", () => {
    const saves: [string, (p: PreferencesController) => void][] = [
      ["the helper's choice", (p) => p.update({ helper: "installed" })],
      ["a profile's mode", (p) => p.setAccessMode("minikube", "forward")],
      ["main's file dialog", (p) => p.chooseMinikube("/usr/local/bin/minikube")],
      ["the window", (p) => p.fromWindow(p.get())],
    ];
    for (const [path, save] of saves) {
      const t = controller({ ...DEFAULT_PREFERENCES, startAtLogin: true });
      save(t.prefs);
      expect(t.loginItem, path).toEqual([true]);
    }
  });

  it("tells the login item again only when startAtLogin changes", () => {
    const t = controller();
    t.prefs.fromWindow({ ...t.prefs.get(), startAtLogin: true });
    t.prefs.update({ helper: "each-time" });
    t.prefs.setAccessMode("minikube", "route");
    t.prefs.fromWindow({ ...t.prefs.get(), notifications: false });
    t.prefs.fromWindow({ ...t.prefs.get(), startAtLogin: false });
    expect(t.loginItem).toEqual([true, false]);
    expect(t.store.writes).toHaveLength(5);
  });

  it("leaves the login item alone where there is none to set (an unpackaged app)", () => {
    const t = controller(DEFAULT_PREFERENCES, false);
    expect(t.prefs.fromWindow({ ...t.prefs.get(), startAtLogin: true }).startAtLogin).toBe(true);
    expect(t.loginItem).toEqual([]);
  });

  it("saves each path's change on top of the others, and answers what was saved", () => {
    const t = controller();
    t.prefs.setAccessMode("minikube", "forward");
    t.prefs.setAccessMode("dev", "route");
    t.prefs.chooseMinikube("/opt/minikube");
    expect(t.prefs.update({ helperUpgradeDeclined: "1.0.0>1.1.0" })).toMatchObject({
      accessModes: { minikube: "forward", dev: "route" },
      minikubePath: "/opt/minikube",
      helperUpgradeDeclined: "1.0.0>1.1.0",
    });
    expect(t.store.saved()).toEqual(t.prefs.get());
  });

  it("the window turns forward mode's node ports off and on again; other paths keep its choice", () => {
    const t = controller();
    expect(t.prefs.get().nodePorts).toBe(true);
    expect(t.prefs.fromWindow({ ...t.prefs.get(), nodePorts: false }).nodePorts).toBe(false);
    t.prefs.setAccessMode("minikube", "forward");
    t.prefs.update({ helper: "installed" });
    expect(t.store.saved()).toMatchObject({ nodePorts: false, accessModes: { minikube: "forward" } });
    expect(t.prefs.fromWindow({ ...t.prefs.get(), nodePorts: true }).nodePorts).toBe(true);
  });

  it("the window may clear the minikube binary but not choose one", () => {
    const t = controller({ ...DEFAULT_PREFERENCES, minikubePath: "/opt/minikube" });
    expect(t.prefs.fromWindow({ ...t.prefs.get(), minikubePath: "/tmp/evil" }).minikubePath).toBe("/opt/minikube");
    expect(t.prefs.fromWindow({ ...t.prefs.get(), minikubePath: null }).minikubePath).toBeNull();
  });

  it("an invalid or unsavable change leaves the preferences and the login item as they were", () => {
    const t = controller();
    expect(() => t.prefs.chooseMinikube("minikube")).toThrow(/absolute path/);
    const locked = new PreferencesController(memoryStorage(DEFAULT_PREFERENCES, false).storage, () => {
      throw new Error("the login item must not be told about a change that was not saved");
    });
    expect(() => locked.fromWindow({ ...DEFAULT_PREFERENCES, startAtLogin: true })).toThrow(/cannot be saved/);
    expect(locked.get()).toEqual(DEFAULT_PREFERENCES);
    expect(t.prefs.get()).toEqual(DEFAULT_PREFERENCES);
    expect(t.loginItem).toEqual([]);
  });

  it("hands out copies: changing one does not change what the next save starts from", () => {
    const t = controller();
    const copy = t.prefs.get();
    copy.accessModes.minikube = "forward";
    t.prefs.update({ notifications: false });
    expect(t.store.saved().accessModes).toEqual({});
  });
});
