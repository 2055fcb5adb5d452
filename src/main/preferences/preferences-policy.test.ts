import { describe, expect, it } from "vitest";
import { DEFAULT_PREFERENCES } from "../../shared/preferences.js";
import { preferencesFromWindow } from "./preferences-policy.js";

describe("preferences sent by the window", () => {
  const current = { ...DEFAULT_PREFERENCES, minikubePath: "/usr/local/bin/minikube" };

  it("take effect, except a new minikube binary, which only main's file dialog sets", () => {
    const next = preferencesFromWindow(current, { ...current, notifications: false, minikubePath: "/tmp/evil" });
    expect(next).toMatchObject({ notifications: false, minikubePath: "/usr/local/bin/minikube" });
    expect(
      preferencesFromWindow({ ...DEFAULT_PREFERENCES }, { ...DEFAULT_PREFERENCES, minikubePath: "/tmp/evil" })
        .minikubePath,
    ).toBeNull();
  });

  it("may clear the binary back to the one on PATH", () => {
    expect(preferencesFromWindow(current, { ...current, minikubePath: null }).minikubePath).toBeNull();
  });
});
