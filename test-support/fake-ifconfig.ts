import type { CommandRunner } from "../src/engine/system/command-runner.js";

/**
 * A stand-in for macOS's ifconfig on lo0, following ifconfig(8) as macOS documents and prints it: `ifconfig lo0`
 * lists the interface with one `inet A netmask M` line per address; `ifconfig lo0 alias A up` adds an address (again
 * is no error); `ifconfig lo0 -alias A` removes one, and fails with EADDRNOTAVAIL's message when it is not there.
 */
export function fakeIfconfig(): { aliases: Set<string>; calls: string[]; runner: CommandRunner } {
  const aliases = new Set<string>();
  const calls: string[] = [];
  const runner: CommandRunner = {
    run: async (file: string, args: readonly string[]) => {
      calls.push([file, ...args].join(" "));
      if (file !== "ifconfig" || args[0] !== "lo0") return { stdout: "", stderr: `${file}: not here`, exitCode: 127 };
      if (args.length === 1)
        return {
          stdout: [
            "lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384",
            "\toptions=1203<RXCSUM,TXCSUM,TXSTATUS,SW_TIMESTAMP>",
            "\tinet 127.0.0.1 netmask 0xff000000",
            "\tinet6 ::1 prefixlen 128",
            "\tinet6 fe80::1%lo0 prefixlen 64 scopeid 0x1",
            ...[...aliases].map((a) => `\tinet ${a} netmask 0xff000000`),
            "\tnd6 options=201<PERFORMNUD,DAD>",
            "",
          ].join("\n"),
          stderr: "",
          exitCode: 0,
        };
      if (args[1] === "alias" && args[2]) {
        aliases.add(args[2]);
        return { stdout: "", stderr: "", exitCode: 0 };
      }
      if (args[1] === "-alias" && args[2]) {
        if (aliases.delete(args[2])) return { stdout: "", stderr: "", exitCode: 0 };
        return { stdout: "", stderr: "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n", exitCode: 1 };
      }
      return { stdout: "", stderr: "ifconfig: bad arguments", exitCode: 1 };
    },
  };
  return { aliases, calls, runner };
}
