import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { profileConfigPath, registryPath, resolveMiniPath } from "./minipath.js";

describe("MINIPATH (minikube's localpath.MiniPath rule)", () => {
  it("defaults to ~/.minikube", () => expect(resolveMiniPath({}, "/home/u")).toBe(join("/home/u", ".minikube")));
  it("uses MINIKUBE_HOME as is when its basename is .minikube", () =>
    expect(resolveMiniPath({ MINIKUBE_HOME: "/data/.minikube" }, "/home/u")).toBe("/data/.minikube"));
  it("appends .minikube otherwise", () =>
    expect(resolveMiniPath({ MINIKUBE_HOME: "/data/mk" }, "/home/u")).toBe(join("/data/mk", ".minikube")));
  it("treats an empty MINIKUBE_HOME as unset", () =>
    expect(resolveMiniPath({ MINIKUBE_HOME: "" }, "/home/u")).toBe(join("/home/u", ".minikube")));
  it("puts the registry and profiles where minikube does", () => {
    expect(registryPath("/m/.minikube")).toBe(join("/m/.minikube", "tunnels.json"));
    expect(profileConfigPath("/m/.minikube", "dev")).toBe(join("/m/.minikube", "profiles", "dev", "config.json"));
  });
  it("refuses profile names that leave the profiles directory", () => {
    expect(() => profileConfigPath("/m", "../../etc")).toThrow(/invalid profile name/);
    expect(() => profileConfigPath("/m", "a/b")).toThrow(/invalid profile name/);
  });
});
