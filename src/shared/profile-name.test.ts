import { describe, expect, it } from "vitest";
import { assertProfileName, isValidProfileName } from "./profile-name.js";

describe("profile names", () => {
  it.each(["minikube", "dev-1", "team.a", "p_2"])("accepts %s", (name) => expect(isValidProfileName(name)).toBe(true));
  it.each(["../etc", "a/b", "a\\b", "..", "a..b", "", "-x", ".hidden", "x y", "a\nb", "$(id)", "x".repeat(64)])(
    "refuses %j",
    (name) => {
      expect(isValidProfileName(name)).toBe(false);
      expect(() => assertProfileName(name)).toThrow(/invalid profile name/);
    },
  );
});
