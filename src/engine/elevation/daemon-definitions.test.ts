import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APP_VERSION } from "../../shared/version.js";
import { LAUNCHD_LABEL, DAEMON_NAME, helperLayout } from "./helper-layout.js";
import {
  SERVICE_HOST_EXE,
  launchdPlist,
  windowsRecoveryArgs,
  windowsServiceArgs,
  windowsServiceCommand,
} from "./daemon-definitions.js";

/** launchd.plist(5): the keys a LaunchDaemon may have that we use, and the type each must have. */
const LAUNCHD_KEYS: Record<string, "string" | "array" | "true" | "false"> = {
  Label: "string",
  ProgramArguments: "array",
  RunAtLoad: "true",
  KeepAlive: "true",
  StandardErrorPath: "string",
};

/** A plist's top-level dict as key → element name, read with the plist DTD's grammar (key, then one value element). */
function plistKeys(text: string): Record<string, string> {
  const dict = /<plist version="1\.0">\s*<dict>([\s\S]*)<\/dict>\s*<\/plist>/.exec(text)?.[1] ?? "";
  const out: Record<string, string> = {};
  for (const m of dict.matchAll(/<key>([^<]+)<\/key>\s*<(string|array|true|false|integer|dict)\b/g)) out[m[1]!] = m[2]!;
  return out;
}

describe("service definitions", () => {
  const prefix = "/opt/stage";

  it("macOS: a LaunchDaemon plist with only documented keys of the documented types, running the installed CLI's `helper run`", () => {
    const layout = helperLayout(prefix, "darwin");
    const plist = launchdPlist(layout, prefix);
    expect(
      plist.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
      ),
    ).toBe(true);
    expect(plistKeys(plist)).toEqual(LAUNCHD_KEYS);
    expect(plist).toContain(`<string>${LAUNCHD_LABEL}</string>`);
    expect([...plist.matchAll(/<array>([\s\S]*?)<\/array>/g)][0]![1]!.match(/<string>([^<]*)<\/string>/g)).toEqual(
      [layout.runtime, layout.cli, "helper", "run", "--prefix", prefix].map((a) => `<string>${a}</string>`),
    );
    expect(layout.libexec).toBe("/opt/stage/Library/PrivilegedHelperTools/minikube-tunnel");
  });

  it("Windows: sc.exe create's documented `option= value` pairs, auto start as LocalSystem", () => {
    const layout = helperLayout("C:\\", "win32");
    const args = windowsServiceArgs(layout);
    expect(args.slice(0, 2)).toEqual(["create", DAEMON_NAME]);
    const pairs = args.slice(2);
    // sc create: every option name ends with "=" and is followed by its value as a separate argument.
    for (let i = 0; i < pairs.length; i += 2)
      expect(pairs[i]).toMatch(/^(binPath|start|obj|DisplayName|type|error|depend|password|tag|group)=$/);
    expect(
      Object.fromEntries(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]])),
    ).toMatchObject({ "start=": "auto", "obj=": "LocalSystem" });
  });

  it("Windows: binPath runs the service host, which speaks the SCM's protocol, logs to root's runtime folder and runs the installed Node on the helper's daemon, stopped by the end of its stdin", () => {
    // node.exe itself cannot be a service: the SCM would fail it with 1053 after 30 s.
    const env = { ProgramFiles: "C:\\Program Files", ProgramData: "C:\\ProgramData" };
    const layout = helperLayout("/", "win32", env);
    const dir = "C:\\Program Files\\Minikube Tunnel Helper";
    expect(windowsServiceCommand(layout, env)).toEqual([
      `${dir}\\${SERVICE_HOST_EXE}`,
      ...["--log", "C:\\ProgramData\\minikube-tunnel\\helper.log", "--"],
      `${dir}\\node.exe`,
      `${dir}\\helper-main.mjs`,
      ...["--daemon", "--config", "C:\\ProgramData\\Minikube Tunnel\\helper.json", "--stop-on-stdin-close"],
    ]);
    // One command line, quoted by Microsoft's rules (the split itself is tested in command-line-windows.test.ts).
    expect(windowsServiceArgs(layout, env)[3]).toBe(
      `"${dir}\\${SERVICE_HOST_EXE}" --log C:\\ProgramData\\minikube-tunnel\\helper.log -- "${dir}\\node.exe" "${dir}\\helper-main.mjs" --daemon --config "C:\\ProgramData\\Minikube Tunnel\\helper.json" --stop-on-stdin-close`,
    );
  });

  it("Windows: recovery restarts a helper that exits by itself, in sc failure's and sc failureflag's documented syntax", () => {
    const [failure, flag] = windowsRecoveryArgs();
    // sc failure <name> reset= <seconds> actions= <action>/<ms>[/<action>/<ms>...]
    expect(failure).toEqual(["failure", DAEMON_NAME, "reset=", "86400", "actions=", expect.any(String)]);
    expect(failure![5]).toMatch(/^restart\/\d+(\/restart\/\d+)*$/);
    // The host reports STOPPED with the helper's exit code; only with this flag does the SCM count that as a failure.
    expect(flag).toEqual(["failureflag", DAEMON_NAME, "1"]);
  });

  it("the version the helper and its clients compare is the package's", () => {
    expect(APP_VERSION).toBe(
      JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8")).version,
    );
  });
});
