/// <reference lib="dom" />
import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { _electron, type ElectronApplication } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeMinikube } from "../test-support/fake-minikube.js";
import { labUnavailableReason, NetnsLab } from "../test-support/netns-lab.js";
import { electronBinaryPath, electronSkipReason } from "./support/electron-binary.js";

const appRoot = join(import.meta.dirname, "..");
const skip = electronSkipReason() ?? labUnavailableReason();
if (skip) console.log(`Electron app specs ${skip.startsWith("skipped") ? skip : `skipped: ${skip}`}`);

type E2eHook = { runAction(action: { type: string; profile?: string }): Promise<void> };

/**
 * The packaged shape of the app (dist/ from `npm run build`) under Playwright's
 * _electron, inside the test lab: the whole app runs in the lab's host
 * namespace, so its routes go there; minikube is the fake, the cluster the API
 * simulator. Needs an Electron binary and a display (see README).
 */
describe.skipIf(skip !== null)("Electron app (Playwright _electron)", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let sim: ChildProcess;
  let home: string;
  let app: ElectronApplication;

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    sim = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.host,
        process.execPath,
        "--import",
        "tsx",
        join(appRoot, "test-support/kube-sim/serve.ts"),
        "minikube",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const kubeconfig = await new Promise<string>((resolve) =>
      createInterface({ input: sim.stdout! }).once("line", resolve),
    );
    home = await mkdtemp(join(tmpdir(), "mkt-e2e-home-"));
    // Playwright starts this instead of Electron, so the app and its `ip` commands live in the lab.
    const wrapper = join(home, "electron-in-lab");
    await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${lab.host} "${electronBinaryPath()}" "$@"\n`);
    await chmod(wrapper, 0o755);
    app = await _electron.launch({
      executablePath: wrapper,
      args: [appRoot, "--no-sandbox"],
      env: {
        ...fake.env({ KUBECONFIG: kubeconfig }),
        HOME: home,
        XDG_CONFIG_HOME: join(home, ".config"),
        MINIKUBE_TUNNEL_E2E: "1",
      } as Record<string, string>,
    });
  });

  afterEach(async () => {
    await app?.close().catch(() => undefined);
    sim?.kill("SIGTERM");
    await lab.destroy();
    await fake.destroy();
    await rm(home, { recursive: true, force: true });
  });

  it("the tray's Open window… shows the profile; Start adds routes; every window is isolated; Quit removes the routes", async () => {
    // The hook appears once main has set up; then run the tray's "Open window…" action.
    await expect
      .poll(() => app.evaluate(() => typeof (globalThis as Record<string, unknown>).minikubeTunnelE2e), {
        timeout: 20_000,
      })
      .toBe("object");
    await app.evaluate(async () =>
      (globalThis as unknown as { minikubeTunnelE2e: E2eHook }).minikubeTunnelE2e.runAction({ type: "open-window" }),
    );
    const window = await app.firstWindow();
    await window.getByRole("region", { name: "minikube" }).waitFor();
    // Isolation as the page sees it: no Node, no ipcRenderer, only the narrow window.tunnel.
    expect(
      await window.evaluate(() => [
        typeof (globalThis as Record<string, unknown>).require,
        typeof (globalThis as Record<string, unknown>).process,
        typeof (globalThis as Record<string, unknown>).ipcRenderer,
      ]),
    ).toEqual(["undefined", "undefined", "undefined"]);
    expect(
      await window.evaluate(() => Object.keys((globalThis as unknown as { tunnel: object }).tunnel).sort()),
    ).toEqual([
      "chooseMinikube",
      "cleanup",
      "copy",
      "getLogs",
      "getPreferences",
      "getState",
      "onShowView",
      "onState",
      "openUrl",
      "quit",
      "setPreferences",
      "start",
      "stop",
    ]);
    expect(await window.evaluate(() => location.href)).toMatch(/^app:\/\/minikube-tunnel\//);

    await window.getByRole("button", { name: "Start tunnel" }).click();
    await window.getByRole("region", { name: "minikube" }).getByText("Active").waitFor({ timeout: 15_000 });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    expect(await readFile(fake.registryPath, "utf8")).toContain("10.96.0.0");

    const closed = new Promise((resolve) => app.process().once("exit", resolve));
    await app.evaluate(({ app: electronApp }) => electronApp.quit());
    await closed;
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(JSON.parse(await readFile(fake.registryPath, "utf8"))).toEqual([]);
  });
});
