import { describe, expect, it } from "vitest";
import { type Cidr, netmaskToPrefix, parseCidr, prefixToNetmask } from "../../../shared/cidr.js";
import type { CommandResult, CommandRunner } from "../../system/command-runner.js";
import { DarwinRouteTable } from "./route-table-darwin.js";
import { RouteCommandError, changeRoute } from "./route-table.js";
import { WindowsRouteTable } from "./route-table-windows.js";

/**
 * A macOS or Windows routing table cannot exist on this machine, so these fakes
 * model the documented behaviour of the real tools: netstat's abbreviated
 * destinations, `route` exiting 0 with "File exists"/"not in table" on macOS,
 * and localised route.exe messages on Windows.
 */
interface Row {
  cidr: Cidr;
  gateway: string;
  netif: string;
}

function netstatDestination(cidr: Cidr): string {
  if (cidr.prefix === 0) return "default";
  if (cidr.prefix === 32) return cidr.address;
  const octets = cidr.address.split(".");
  while (octets.length > 1 && octets[octets.length - 1] === "0") octets.pop();
  return cidr.prefix === octets.length * 8 ? octets.join(".") : `${octets.join(".")}/${cidr.prefix}`;
}

function fakeDarwin(rows: Row[], calls: string[][]): CommandRunner {
  return {
    async run(file, args): Promise<CommandResult> {
      calls.push([file, ...args]);
      if (file === "netstat") {
        const body = rows.map(
          (r) => `${netstatDestination(r.cidr).padEnd(19)}${r.gateway.padEnd(19)}UGSc${r.netif.padStart(20)}       `,
        );
        return {
          stdout: [
            "Routing tables",
            "",
            "Internet:",
            "Destination        Gateway            Flags               Netif Expire",
            ...body,
            "",
          ].join("\n"),
          stderr: "",
          exitCode: 0,
        };
      }
      const [, verb, ...rest] = args;
      const [dest = "", gw = ""] = rest.filter((a) => a !== "-inet6");
      const cidr = parseCidr(dest);
      const index = rows.findIndex((r) => r.cidr.text === cidr.text && r.gateway === gw);
      if (verb === "add") {
        if (index >= 0)
          return {
            stdout: `add net ${cidr.address}: gateway ${gw}: File exists\n`,
            stderr: "route: writing to routing socket: File exists\n",
            exitCode: 0,
          };
        rows.push({ cidr, gateway: gw, netif: "bridge100" });
        return { stdout: `add net ${cidr.address}: gateway ${gw}\n`, stderr: "", exitCode: 0 };
      }
      if (index < 0)
        return {
          stdout: `delete net ${cidr.address}: gateway ${gw}: not in table\n`,
          stderr: "route: writing to routing socket: not in table\n",
          exitCode: 0,
        };
      rows.splice(index, 1);
      return { stdout: `delete net ${cidr.address}: gateway ${gw}\n`, stderr: "", exitCode: 0 };
    },
  };
}

function fakeWindowsGerman(rows: Row[], calls: string[][]): CommandRunner {
  return {
    async run(file, args): Promise<CommandResult> {
      calls.push([file, ...args]);
      if (args[0] === "print") {
        const body = rows.map(
          (r) =>
            `${r.cidr.address.padStart(17)}${prefixToNetmask(r.cidr.prefix).padStart(17)}${r.gateway.padStart(19)}${"172.28.80.1".padStart(17)}     26`,
        );
        return {
          stdout: [
            "IPv4-Routentabelle",
            "=".repeat(75),
            "Aktive Routen:",
            "     Netzwerkziel    Netzwerkmaske          Gateway    Schnittstelle Metrik",
            ...body,
            "=".repeat(75),
            "Ständige Routen:",
            "  Keine",
            "",
          ].join("\r\n"),
          stderr: "",
          exitCode: 0,
        };
      }
      const [verb, net = "", , mask = "", gw = ""] = args;
      const cidr = parseCidr(`${net}/${netmaskToPrefix(mask)}`);
      const index = rows.findIndex((r) => r.cidr.text === cidr.text && r.gateway === gw);
      if (verb === "ADD") {
        if (index >= 0)
          return {
            stdout: "Fehler beim Hinzufügen der Route: Das Objekt ist bereits vorhanden.\r\n",
            stderr: "",
            exitCode: 0,
          };
        if (gw === "10.0.0.99")
          return { stdout: "Fehler beim Hinzufügen der Route: Falscher Parameter.\r\n", stderr: "", exitCode: 1 };
        rows.push({ cidr, gateway: gw, netif: "" });
        return { stdout: " OK!\r\n", stderr: "", exitCode: 0 };
      }
      if (index >= 0) rows.splice(index, 1);
      return {
        stdout: index >= 0 ? " OK!\r\n" : "Fehler beim Löschen der Route: Element nicht gefunden.\r\n",
        stderr: "",
        exitCode: 0,
      };
    },
  };
}

describe("macOS adapter", () => {
  it("adds and removes with route -n and reads the result back from netstat", async () => {
    const calls: string[][] = [];
    const table = new DarwinRouteTable(fakeDarwin([], calls));
    await changeRoute(table, "add", parseCidr("10.96.0.0/12"), "192.168.64.2");
    expect(calls[0]).toEqual(["route", "-n", "add", "10.96.0.0/12", "192.168.64.2"]);
    expect((await table.list(4)).map((r) => r.destination.text)).toEqual(["10.96.0.0/12"]);
    await changeRoute(table, "remove", parseCidr("10.96.0.0/12"), "192.168.64.2");
    expect(calls.find((c) => c[2] === "delete")).toEqual(["route", "-n", "delete", "10.96.0.0/12", "192.168.64.2"]);
    expect(await table.list(4)).toEqual([]);
  });

  it("reports a failure even though route exited 0", async () => {
    const rows: Row[] = [];
    const table = new DarwinRouteTable(fakeDarwin(rows, []));
    await expect(changeRoute(table, "remove", parseCidr("10.96.0.0/12"), "192.168.64.2")).resolves.toBeUndefined();
    // Removing something absent is success by read-back; adding must show up in the table.
    const broken: CommandRunner = {
      run: async (f, a) =>
        f === "netstat"
          ? fakeDarwin(rows, []).run(f, a)
          : { stdout: "", stderr: "route: writing to routing socket: Network is unreachable", exitCode: 0 },
    };
    await expect(
      changeRoute(new DarwinRouteTable(broken), "add", parseCidr("10.96.0.0/12"), "192.168.64.2"),
    ).rejects.toThrow("Network is unreachable");
  });

  it("passes -inet6 for IPv6", async () => {
    const calls: string[][] = [];
    const table = new DarwinRouteTable(fakeDarwin([], calls));
    await changeRoute(table, "add", parseCidr("fd00:10:96::/112"), "fd00:64::2").catch(() => undefined);
    expect(calls[0]).toEqual(["route", "-n", "add", "-inet6", "fd00:10:96::/112", "fd00:64::2"]);
  });
});

describe("Windows adapter", () => {
  it("uses route ADD … MASK and judges success from the table, not the German message", async () => {
    const calls: string[][] = [];
    const rows: Row[] = [];
    const table = new WindowsRouteTable(fakeWindowsGerman(rows, calls));
    await changeRoute(table, "add", parseCidr("10.96.0.0/12"), "172.28.80.10");
    expect(calls[0]).toEqual(["route", "ADD", "10.96.0.0", "MASK", "255.240.0.0", "172.28.80.10"]);
    expect(rows).toHaveLength(1);
    await changeRoute(table, "remove", parseCidr("10.96.0.0/12"), "172.28.80.10");
    expect(calls.find((c) => c[1] === "DELETE")).toEqual([
      "route",
      "DELETE",
      "10.96.0.0",
      "MASK",
      "255.240.0.0",
      "172.28.80.10",
    ]);
    expect(rows).toHaveLength(0);
  });

  it("turns a localised failure into an error that quotes it", async () => {
    const table = new WindowsRouteTable(fakeWindowsGerman([], []));
    const error = await changeRoute(table, "add", parseCidr("10.96.0.0/12"), "10.0.0.99").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouteCommandError);
    expect((error as Error).message).toContain("Falscher Parameter");
  });
});
