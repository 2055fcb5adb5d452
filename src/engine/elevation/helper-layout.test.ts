import { describe, expect, it } from "vitest";
import { defaultRuntimeDir } from "./elevation.js";
import { helperLayout, installedSocketPath, secretPathFor } from "./helper-layout.js";

/** Windows' own variables for its known folders, as a service and an elevated user see them. */
const WINDOWS_ENV = { ProgramFiles: "C:\\Program Files", ProgramData: "C:\\ProgramData", SystemDrive: "C:" };

describe("where the helper's files are on Windows", () => {
  it("root's runtime directory is under %ProgramData%, never a POSIX path (which lands on the current drive)", () => {
    expect(defaultRuntimeDir("win32", WINDOWS_ENV)).toBe("C:\\ProgramData\\minikube-tunnel");
    expect(defaultRuntimeDir("win32", { ProgramData: "E:\\Data" })).toBe("E:\\Data\\minikube-tunnel");
    // A variable that is not a full path is not believed.
    expect(defaultRuntimeDir("win32", { ProgramData: "\\x", SystemDrive: "D:" })).toBe(
      "D:\\ProgramData\\minikube-tunnel",
    );
    expect(defaultRuntimeDir("linux", {})).toBe("/run/minikube-tunnel");
  });

  it("the installed helper's secret and port are real files in that directory, not names in the pipe namespace", () => {
    const port = installedSocketPath(WINDOWS_ENV, "win32");
    expect(port).toBe("C:\\ProgramData\\minikube-tunnel\\helper.port");
    expect(secretPathFor(port)).toBe("C:\\ProgramData\\minikube-tunnel\\helper.port.secret");
    expect(installedSocketPath({}, "linux")).toBe("/var/run/minikube-tunnel/helper.sock");
  });

  it("a real install goes to %ProgramFiles% and %ProgramData%; --prefix must be a full Windows path", () => {
    const system = helperLayout("/", "win32", WINDOWS_ENV);
    expect(system).toMatchObject({
      runtime: "C:\\Program Files\\Minikube Tunnel Helper\\node.exe",
      cli: "C:\\Program Files\\Minikube Tunnel Helper\\mktunnel.mjs",
      config: "C:\\ProgramData\\Minikube Tunnel\\helper.json",
    });
    expect(helperLayout("D:\\stage\\", "win32", WINDOWS_ENV)).toMatchObject({
      runtime: "D:\\stage\\Program Files\\Minikube Tunnel Helper\\node.exe",
      config: "D:\\stage\\ProgramData\\Minikube Tunnel\\helper.json",
    });
    for (const relative of ["\\stage", "stage", "C:stage", "\\\\.\\pipe\\x"])
      expect(() => helperLayout(relative, "win32", WINDOWS_ENV), relative).toThrow(/full Windows path/);
    expect(helperLayout("/", "linux").runtime).toBe("/usr/local/libexec/minikube-tunnel/node");
  });
});
