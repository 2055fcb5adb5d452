import { randomUUID } from "node:crypto";
import type { CommandRunner } from "../src/engine/system/command-runner.js";

export interface FakeNrptRule {
  Name: string;
  Namespace: string[];
  NameServers: string[];
  Comment: string;
}

/**
 * A stand-in for PowerShell's DnsClient module, following its documented behaviour: Add-DnsClientNrptRule creates a
 * rule named by a new GUID in braces; Get-DnsClientNrptRule lists every rule; Remove-DnsClientNrptRule -Name removes
 * one. It runs the scripts NrptRules sends (dns-resolver-windows.ts), which only use those cmdlets in these shapes.
 */
export function fakeNrptPowerShell(): { rules: FakeNrptRule[]; scripts: string[]; runner: CommandRunner } {
  const rules: FakeNrptRule[] = [];
  const scripts: string[] = [];
  const runner: CommandRunner = {
    run: async (file: string, args: readonly string[]) => {
      if (file !== "powershell.exe") throw new Error(`not PowerShell: ${file}`);
      const script = Buffer.from(args[args.indexOf("-EncodedCommand") + 1]!, "base64").toString("utf16le");
      scripts.push(script);
      let stdout = "";
      for (const line of script.split("\n")) {
        const like = /Where-Object \{ \$_\.Comment -like '([^']*)' \}/.exec(line)?.[1];
        const matches = (c: string) =>
          like !== undefined &&
          new RegExp(`^${like.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(c);
        if (line.startsWith("Get-DnsClientNrptRule") && line.includes("Remove-DnsClientNrptRule"))
          for (const r of rules.filter((x) => matches(x.Comment))) rules.splice(rules.indexOf(r), 1);
        else if (line.startsWith("Get-DnsClientNrptRule") && line.includes("ConvertTo-Json")) {
          const found = rules.filter((x) => matches(x.Comment)).map(({ Name, Comment }) => ({ Name, Comment }));
          stdout = found.length === 0 ? "" : JSON.stringify(found.length === 1 ? found[0] : found);
        } else if (line.startsWith("Add-DnsClientNrptRule")) {
          const [, ns, server, comment] = /-Namespace '([^']+)' -NameServers '([^']+)' -Comment '([^']+)'/.exec(line)!;
          rules.push({
            Name: `{${randomUUID().toUpperCase()}}`,
            Namespace: [ns!],
            NameServers: [server!],
            Comment: comment!,
          });
        } else if (line.startsWith("Remove-DnsClientNrptRule -Name")) {
          const name = /-Name '([^']+)'/.exec(line)![1];
          rules.splice(
            rules.findIndex((r) => r.Name === name),
            1,
          );
        }
      }
      return { stdout, stderr: "", exitCode: 0 };
    },
  };
  return { rules, scripts, runner };
}
