import { createSocket } from "node:dgram";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleForLab } from "./wine-lab-bundle.js";
import { WineLab, releaseWineTemplate, wineLabUnavailableReason } from "./wine-lab.js";

const skip = wineLabUnavailableReason();
if (skip) console.log(`skipped: wildcard names' NRPT rules under Wine: ${skip}`);

/** A port free on the responder's first address now (Wine's processes share this machine's network). */
async function freePort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind({ address: "127.64.255.255", port: 0 }, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/**
 * Root's DNS responder with Windows' router in Windows' own Node under Wine (docs/architecture.md, "Ingress and Gateway
 * names", "Wildcards"): the NRPT rule goes through powershell.exe (the lab's fake of the DnsClient cmdlets, which
 * keeps the rules in nrpt-state.txt), the responder answers at 127.64.255.255, and `mktunnel cleanup` takes back the
 * rule a dead root process left.
 */
describe.skipIf(skip !== null)("wildcard names on Windows, under Wine", () => {
  let lab: WineLab;
  let proc: string;
  const nrpt = () => readFile(join(lab.toolsDir, "nrpt-state.txt"), "utf8").catch(() => "");
  const runProc = async (mode: "set" | "set-clear") => {
    await rm(join(lab.drive, "wildcard-out.json"), { force: true });
    const r = await lab.node([proc, mode, "D:\\wildcard-out.json", String(await freePort())], { timeoutMs: 120_000 });
    const seen = JSON.parse(await readFile(join(lab.drive, "wildcard-out.json"), "utf8").catch(() => "{}")) as {
      set?: { how?: string; dropped: unknown[] };
      answers?: string[];
      cleared?: unknown;
      error?: string;
    };
    expect(seen.error, r.stderr).toBeUndefined();
    return seen;
  };

  beforeAll(async () => {
    lab = await WineLab.start();
    proc = await bundleForLab(lab, join(import.meta.dirname, "wine-wildcard-proc.ts"), "wildcard-proc");
  }, 300_000);

  afterAll(async () => {
    await lab?.destroy();
    await releaseWineTemplate();
  });

  it("one NRPT rule .shop.test → 127.64.255.255 under our marker, answered there, taken back with the wildcard", async () => {
    const seen = await runProc("set-clear");
    expect(seen.set).toEqual({
      how: "DNS responder 127.64.255.255:53, NRPT rule .shop.test → 127.64.255.255",
      dropped: [],
    });
    expect(seen.answers).toEqual(["127.70.255.9"]);
    expect(seen.cleared).toEqual({ dropped: [] });
    expect(await nrpt()).toBe("");
  });

  it("after the root process is gone, cleanup --json removes its rule", async () => {
    await runProc("set");
    expect(await nrpt()).toMatch(
      /^\{[0-9A-F-]{36}\}\t\.shop\.test\t127\.64\.255\.255\tminikube-tunnel profile=_wildcards pid=\d+ started=\S*\n$/,
    );
    const cleanup = await lab.mktunnel(["cleanup", "--json"], { timeoutMs: 120_000 });
    expect(cleanup.exitCode, cleanup.stderr).toBe(0);
    expect(JSON.parse(cleanup.stdout).names).toHaveLength(1);
    expect(await nrpt()).toBe("");
  });
});
