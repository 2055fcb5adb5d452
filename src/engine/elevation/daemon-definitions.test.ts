import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APP_VERSION } from "../../shared/version.js";
import { LAUNCHD_LABEL, DAEMON_NAME, helperLayout } from "./helper-layout.js";
import { launchdPlist, windowsServiceArgs } from "./daemon-definitions.js";

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
    const args = windowsServiceArgs(layout, "C:\\");
    expect(args.slice(0, 2)).toEqual(["create", DAEMON_NAME]);
    const pairs = args.slice(2);
    // sc create: every option name ends with "=" and is followed by its value as a separate argument.
    for (let i = 0; i < pairs.length; i += 2)
      expect(pairs[i]).toMatch(/^(binPath|start|obj|DisplayName|type|error|depend|password|tag|group)=$/);
    expect(
      Object.fromEntries(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]])),
    ).toMatchObject({ "start=": "auto", "obj=": "LocalSystem" });
    expect(args[3]).toContain("helper run --prefix");
  });

  it("the version the helper and its clients compare is the package's", () => {
    expect(APP_VERSION).toBe(
      JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "..", "package.json"), "utf8")).version,
    );
  });
});
