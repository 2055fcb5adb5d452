import { PREFERENCES_VERSION } from "../shared/preferences.js";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeElectronMain, menuItem } from "../../test-support/electron-fake/main-process.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { bundled } from "../../test-support/bundles.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import { CONTENT_SECURITY_POLICY } from "../shared/content-security-policy.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: main process in the lab: ${skip}`);

/**
 * The real main.ts, with Electron's main-process API replaced by a fake that
 * follows its documented behaviour (there is no Electron binary here; the
 * Playwright _electron spec covers the real one where it exists). The app
 * runs in the lab's host namespace, so its routes are real kernel routes.
 */
describe.skipIf(skip !== null)("main process wiring (Electron API fake), in network namespaces", () => {
  let lab: NetnsLab;
  let fake: FakeMinikube;
  let sim: ChildProcess;
  let home: string;
  let main: FakeElectronMain;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    lab = await NetnsLab.create();
    fake = await FakeMinikube.create();
    await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    sim = spawn("ip", ["netns", "exec", lab.host, process.execPath, bundled("kube-sim-serve"), "minikube"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const kubeconfig = await new Promise<string>((resolve) =>
      createInterface({ input: sim.stdout! }).once("line", resolve),
    );
    home = await mkdtemp(join(tmpdir(), "mkt-main-home-"));
    env = fake.env({
      KUBECONFIG: kubeconfig,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CURRENT_DESKTOP: "KDE",
    });
    main = FakeElectronMain.start(lab.host, env);
  });

  afterEach(async () => {
    main?.kill();
    sim?.kill("SIGTERM");
    await lab.destroy();
    await fake.destroy();
    await rm(home, { recursive: true, force: true });
  });

  it("tray Start adds the routes and turns the icon active; the IPC gate holds; Quit removes the routes before exiting", async () => {
    const first = await main.waitFor(
      (e) => e.event === "tray" && menuItem(e.menu, "start:minikube"),
      "the tray menu with minikube",
    );
    expect(first.icon).toMatch(/assets\/tray\/idle-light\.png$/);
    expect(first.iconEmpty).toBe(false);
    expect(main.events.some((e) => e.event === "window")).toBe(false); // KDE has a tray: no window at launch

    main.send({ cmd: "click", id: "start:minikube" });
    const running = await main.waitFor(
      (e) =>
        e.event === "tray" &&
        menuItem(e.menu, "stop:minikube") &&
        menuItem(e.menu, "route:minikube:10.96.0.0/12")?.label.includes("active"),
      "Stop tunnel and an active route",
    );
    expect(running.icon).toMatch(/active-light\.png$/);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");

    // The window's channel, as main registered it: foreign senders and bad payloads refused, ours answered.
    expect(await main.invoke("tunnel:stop", ["minikube"], "https://evil.example/")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/origin https:\/\/evil.example/),
    });
    expect(await main.invoke("tunnel:start", ["../etc"])).toMatchObject({
      ok: false,
      error: expect.stringMatching(/invalid profile name/),
    });
    const state = await main.invoke("state:get", []);
    expect(state.value.profiles[0]).toMatchObject({ profile: "minikube", running: true, phase: "active" });
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");

    // Electron would grant a page's permission requests; main refuses every one before any window exists.
    main.send({ cmd: "permission", event: "media" });
    expect(await main.waitFor((e) => e.event === "permission-result", "the camera/microphone request")).toMatchObject({
      granted: false,
      check: false,
    });
    const handlersAt = main.events.findIndex((e) => e.event === "permission-request-handler");
    expect(handlersAt).toBeGreaterThanOrEqual(0);
    expect(handlersAt).toBeLessThan(main.events.findIndex((e) => e.event === "tray"));

    // The page names a Service port; a URL it makes up is refused.
    expect(await main.invoke("service:open", ["https://evil.example/"])).toMatchObject({
      ok: false,
      error: expect.stringMatching(/argument 0/),
    });
    expect(
      await main.invoke("service:open", [{ profile: "minikube", namespace: "default", name: "nope", port: 80 }]),
    ).toMatchObject({ ok: false, error: expect.stringMatching(/has no http\(s\) port 80/) });

    main.send({ cmd: "click", id: "open-window" });
    const window = await main.waitFor((e) => e.event === "window", "a window");
    expect(window.url).toBe("app://minikube-tunnel/index.html#tunnels");
    expect(window.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });

    // The window's page comes from the app:// handler main registered, with the CSP; nothing else is served.
    main.send({ cmd: "fetch", url: "app://minikube-tunnel/index.html" });
    const page = await main.waitFor((e) => e.event === "fetch-result", "index.html over app://");
    expect(page).toMatchObject({ status: 200, csp: CONTENT_SECURITY_POLICY });
    const from = main.events.length;
    main.send({ cmd: "fetch", url: "app://minikube-tunnel/../../package.json" });
    expect(await main.waitFor((e) => e.event === "fetch-result", "a refused path", 20_000, from)).toMatchObject({
      status: 404,
    });

    main.send({ cmd: "click", id: "quit" });
    expect(await main.exited).toBe(0);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
    expect(JSON.parse(await readFile(fake.registryPath, "utf8"))).toEqual([]);
  });

  it("preferences saved through IPC (a refused value leaves the file as it was) start the profile at the next launch; a stopped node is announced", async () => {
    await main.waitFor((e) => e.event === "tray", "the tray");
    const prefs = (await main.invoke("prefs:get", [])).value;
    const saved = await main.invoke("prefs:set", [
      { ...prefs, autoStartProfiles: ["minikube"], minikubePath: "/tmp/not-allowed" },
    ]);
    expect(saved).toMatchObject({ ok: true, value: { autoStartProfiles: ["minikube"], minikubePath: null } });
    const file = join(home, ".config", "minikube-tunnel", "preferences.json");
    const before = await readFile(file, "utf8");
    expect(JSON.parse(before)).toMatchObject({ version: PREFERENCES_VERSION, autoStartProfiles: ["minikube"] });
    expect(
      await main.invoke("prefs:set", [{ ...prefs, loadBalancer: { ...prefs.loadBalancer, pool: ["10.0.0.0/33"] } }]),
    ).toMatchObject({ ok: false });
    expect(await readFile(file, "utf8")).toBe(before);

    // Next launch: the saved profile starts by itself; a stopped node is announced.
    main.send({ cmd: "quit" });
    await main.exited;
    main = FakeElectronMain.start(lab.host, env);
    await main.waitFor(
      (e) => e.event === "tray" && menuItem(e.menu, "route:minikube:10.96.0.0/12")?.label.includes("active"),
      "minikube started automatically",
    );
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    await lab.setNodeLink(false);
    await fake.setHost("minikube", "Stopped");
    const note = await main.waitFor(
      (e) => e.event === "notification" && e.title === "Tunnel for minikube stopped",
      "node-stopped notification",
    );
    expect(note.body).toMatch(/node stopped/);
    expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");
  });
});
