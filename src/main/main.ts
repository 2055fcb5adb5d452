import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Notification,
  app,
  clipboard,
  dialog,
  ipcMain,
  nativeTheme,
  powerMonitor,
  protocol,
  session as electronSession,
  shell,
} from "electron";
import { resolveMiniPath } from "../engine/cluster/minipath.js";
import { isElevated } from "../engine/system/elevation-state.js";
import { createEngine } from "../engine/engine.js";
import { installedHelperAnswers } from "../engine/elevation/installed-helper-client.js";
import { readHelperConfig } from "../engine/elevation/helper-installer.js";
import { AppModel } from "../app/app-model.js";
import type { AppNotification } from "../app/state-notifications.js";
import type { AppState } from "../shared/app-state.js";
import type { Preferences } from "../shared/preferences.js";
import { provisionHelper } from "./helper/provisioning.js";
import { isServiceUrl, serviceUrl } from "../shared/service-address.js";
import { isNameUrl, nameUrl } from "../shared/name-address.js";
import { APP_SCHEME_PRIVILEGES, registerUiProtocol } from "./windows/app-protocol.js";
import { AppWindows } from "./windows/app-windows.js";
import { registerIpcHandlers } from "./ipc/ipc-handlers.js";
import { denyAllPermissions } from "./windows/permissions.js";
import { createActionRunner } from "./tray/menu-actions.js";
import { watchNetworkChanges } from "./lifecycle/network-watch.js";
import { preferencesFromWindow } from "./preferences/preferences-policy.js";
import { PreferencesStore } from "./preferences/preferences-store.js";
import { runQuitSequence } from "./lifecycle/quit-sequence.js";
import { createAppTray } from "./tray/app-tray.js";
import { shouldOpenWindowAtLaunch } from "./tray/tray-availability.js";

/**
 * Electron glue only: every decision lives in tested modules (engine AppModel,
 * tray menu, IPC handlers, quit sequence, secure windows). Layout when built:
 * dist/main/main.js, dist/preload/preload.cjs, dist/renderer/, assets/.
 */
const here = fileURLToPath(new URL(".", import.meta.url));
const appRoot = join(here, "..", "..");
const assetsDir = app.isPackaged ? join(process.resourcesPath, "assets") : join(appRoot, "assets");
const rendererDir = join(here, "..", "renderer");
const preloadPath = join(here, "..", "preload", "preload.cjs");

protocol.registerSchemesAsPrivileged(APP_SCHEME_PRIVILEGES);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // The app lives in the tray: no dock icon on macOS (LSUIElement in the packaged app, this for `npm start`).
  if (process.platform === "darwin") app.dock?.hide();
  // Closing the window must not quit a tray app.
  app.on("window-all-closed", () => undefined);
  void app.whenReady().then(run);
}

async function run(): Promise<void> {
  // Before any window exists: Electron would grant every permission a page asks for.
  denyAllPermissions(electronSession.defaultSession, (permission) =>
    console.warn(`refused a page's request for permission "${permission}"`),
  );
  const preferences = new PreferencesStore();
  const windows = new AppWindows(preloadPath);
  app.on("second-instance", () => windows.show("tunnels"));
  const isRoot = isElevated();
  let prefs = preferences.get();
  const miniPath = resolveMiniPath();
  const savePrefs = (change: Partial<Preferences>) => (prefs = preferences.set({ ...preferences.get(), ...change }));
  const helper = provisionHelper({
    app,
    dialog,
    resourcesPath: process.resourcesPath,
    miniPath,
    prefs: () => prefs,
    savePrefs,
    say: (line) => model.reportActionError(line),
  });
  const root = isRoot ? undefined : helper.root;
  const engine = await createEngine({
    ...(prefs.minikubePath ? { minikubeBinary: prefs.minikubePath } : {}),
    ...(root ? { root } : {}),
  });
  const model = new AppModel({
    engine,
    loadBalancer: () => ({ enabled: true, ...prefs.loadBalancer }),
    accessMode: (profile) => prefs.accessModes[profile] ?? "auto",
    names: () => prefs.names,
  });
  if (preferences.problem) model.setProblem(preferences.problem);

  const report = (title: string, error: unknown) => {
    const body = error instanceof Error ? error.message : String(error);
    if (prefs.notifications && Notification.isSupported()) new Notification({ title, body }).show();
    model.reportActionError(`${title}: ${body}`);
  };
  /** Saved per profile; a running tunnel comes back up in the new mode. */
  const setMode = async (profile: string, mode: "auto" | "route" | "forward") => {
    const current = preferences.get();
    prefs = preferences.set({ ...current, accessModes: { ...current.accessModes, [profile]: mode } });
    await model.restartIfRunning(profile);
  };
  const runAction = createActionRunner({
    start: (profile) => model.start(profile),
    stop: (profile) => model.stop(profile),
    setMode: (profile, mode) => setMode(profile, mode),
    cleanup: () => model.cleanup(),
    copy: (text) => clipboard.writeText(text),
    openUrl: async (url) => {
      if (!isServiceUrl(url) && !isNameUrl(model.state(), url))
        throw new Error(`refusing to open ${url}: not a Service's or a mapped name's http(s) address`);
      await shell.openExternal(url);
    },
    showWindow: (view) => windows.show(view),
    quit: () => app.quit(),
    report,
  });

  if (process.env.MINIKUBE_TUNNEL_E2E === "1") {
    // Playwright's _electron cannot click native tray menus; the specs run the same actions through this.
    (globalThis as Record<string, unknown>).minikubeTunnelE2e = { runAction, state: () => model.state() };
  }

  registerUiProtocol(protocol, rendererDir);
  registerIpcHandlers(
    ipcMain,
    {
      "state:get": () => model.state(),
      "tunnel:start": (profile) => model.start(profile),
      "tunnel:stop": (profile) => model.stop(profile),
      "profile:set-mode": (profile, mode) => setMode(profile, mode),
      "tunnels:cleanup": () => model.cleanup(),
      "clipboard:copy": (text) => clipboard.writeText(text),
      "logs:get": (limit) => model.logs(limit),
      "prefs:get": () => preferences.get(),
      "prefs:set": (next) => {
        prefs = preferences.set(preferencesFromWindow(preferences.get(), next));
        if (app.isPackaged) app.setLoginItemSettings({ openAtLogin: prefs.startAtLogin });
        return prefs;
      },
      "prefs:choose-minikube": async () => {
        const choice = await dialog.showOpenDialog({
          title: "Choose the minikube binary",
          properties: ["openFile", "dontAddToRecent"],
        });
        const path = choice.canceled ? undefined : choice.filePaths[0];
        if (path) prefs = preferences.set({ ...preferences.get(), minikubePath: path });
        return preferences.get();
      },
      "service:open": async (ref) => {
        // The page names a Service port; the address comes from our own state, so a compromised page cannot open
        // anything else.
        const url = serviceUrl(model.state(), ref);
        if (!url || !isServiceUrl(url))
          throw new Error(`${ref.namespace}/${ref.name} has no http(s) port ${ref.port} with an external IP`);
        await shell.openExternal(url);
      },
      "name:open": async (ref) => {
        // As for Services: the page names a host and port, and the URL comes from our own state.
        const url = nameUrl(model.state(), ref);
        if (!url) throw new Error(`${ref.host} has no http(s) port ${ref.port} that resolves on this machine`);
        await shell.openExternal(url);
      },
      "helper:status": async () => {
        const config = await readHelperConfig("/").catch(() => null);
        return {
          installed: config !== null,
          running: await installedHelperAnswers(),
          version: config?.version ?? null,
        };
      },
      "helper:install": async () => {
        await helper.install();
        savePrefs({ helper: "installed" });
      },
      "app:quit": () => app.quit(),
    },
    (message) => console.warn(`IPC refused: ${message}`),
  );

  const tray = createAppTray(assetsDir, (action) => void runAction(action));
  const trayRenderer = tray.renderer;
  const render = (state: AppState) => {
    windows.pushState(state);
    trayRenderer?.render(state);
  };
  model.on("state", render);
  nativeTheme.on("updated", () => {
    trayRenderer?.invalidateIcon();
    render(model.state());
  });
  model.on("notification", (note: AppNotification) => {
    if (prefs.notifications && Notification.isSupported())
      new Notification({ title: note.title, body: note.body }).show();
  });

  powerMonitor.on("resume", () => void model.recheck());
  const stopWatchingNetwork = watchNetworkChanges(() => void model.recheck());

  let quitting = false;
  app.on("before-quit", (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    stopWatchingNetwork();
    void runQuitSequence({
      stopAll: () => model.shutdown(),
      showProgress: () => windows.showQuitProgress(),
      hideProgress: () => windows.hideQuitProgress(),
    }).then((result) => {
      if (result.outcome !== "stopped")
        console.warn(
          `quit: ${result.outcome}${result.error ? `: ${result.error}` : ""}; the helper removes what is left when this process exits`,
        );
      app.exit(0);
    });
  });

  await model.refreshProfiles();
  model.watchProfiles();
  render(model.state());
  if (
    shouldOpenWindowAtLaunch({
      platform: process.platform,
      trayCreated: tray.created,
      desktop: process.env.XDG_CURRENT_DESKTOP ?? "",
    })
  )
    windows.show("tunnels");
  for (const profile of prefs.autoStartProfiles)
    await model.start(profile).catch((error: unknown) => report(`Could not start the tunnel for ${profile}`, error));
}
