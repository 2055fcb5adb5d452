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
import { provisionHelper } from "./helper/provisioning.js";
import { APP_SCHEME_PRIVILEGES, registerUiProtocol } from "./window/app-protocol.js";
import { AppWindows } from "./window/app-windows.js";
import { registerIpcHandlers } from "./ipc/ipc-handlers.js";
import { appHandlers, openStateUrl } from "./ipc/app-handlers.js";
import { denyAllPermissions } from "./window/permissions.js";
import { createActionRunner } from "./tray/menu-actions.js";
import { watchNetworkChanges } from "./lifecycle/network-watch.js";
import { PreferencesController } from "./preferences/preferences-controller.js";
import { PreferencesStore } from "./preferences/preferences-store.js";
import { runQuitSequence } from "./lifecycle/quit-sequence.js";
import { createAppTray } from "./tray/app-tray.js";
import { shouldOpenWindowAtLaunch } from "./tray/tray-availability.js";

/**
 * Electron glue only: every decision lives in tested modules (src/app's AppModel,
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
  const store = new PreferencesStore();
  // Every change goes through the controller, so the login item follows startAtLogin whichever path saved it.
  const preferences = new PreferencesController(
    store,
    app.isPackaged ? (openAtLogin) => app.setLoginItemSettings({ openAtLogin }) : null,
  );
  const windows = new AppWindows(preloadPath);
  app.on("second-instance", () => windows.show("tunnels"));
  const isRoot = isElevated();
  const prefs = () => preferences.get();
  const miniPath = resolveMiniPath();
  const helper = provisionHelper({
    app,
    dialog,
    resourcesPath: process.resourcesPath,
    miniPath,
    prefs,
    savePrefs: (change) => preferences.update(change),
    say: (line) => model.reportActionError(line),
  });
  const root = isRoot ? undefined : helper.root;
  const minikubePath = prefs().minikubePath;
  const engine = await createEngine({
    ...(minikubePath ? { minikubeBinary: minikubePath } : {}),
    ...(root ? { root } : {}),
  });
  const model = new AppModel({
    engine,
    loadBalancer: () => ({ enabled: true, ...prefs().loadBalancer }),
    accessMode: (profile) => prefs().accessModes[profile] ?? "auto",
    names: () => prefs().names,
    nodePorts: () => prefs().nodePorts,
  });
  if (store.problem) model.setProblem(store.problem);

  const report = (title: string, error: unknown) => {
    const body = error instanceof Error ? error.message : String(error);
    if (prefs().notifications && Notification.isSupported()) new Notification({ title, body }).show();
    model.reportActionError(`${title}: ${body}`);
  };
  const openExternal = (url: string) => shell.openExternal(url);
  const handlers = appHandlers({
    model,
    preferences,
    helper: {
      install: helper.install,
      config: () => readHelperConfig("/"),
      answers: installedHelperAnswers,
    },
    dialog,
    copy: (text) => clipboard.writeText(text),
    openExternal,
    quit: () => app.quit(),
  });
  const runAction = createActionRunner({
    start: (profile) => model.start(profile),
    stop: (profile) => model.stop(profile),
    // The tray's Mode submenu does what the window's does.
    setMode: async (profile, mode) => await handlers["profile:set-mode"](profile, mode),
    cleanup: () => model.cleanup(),
    copy: (text) => clipboard.writeText(text),
    openUrl: (url) => openStateUrl({ model, openExternal }, url),
    showWindow: (view) => windows.show(view),
    quit: () => app.quit(),
    report,
  });

  if (process.env.MINIKUBE_TUNNEL_E2E === "1") {
    // Playwright's _electron cannot click native tray menus; the specs run the same actions through this.
    (globalThis as Record<string, unknown>).minikubeTunnelE2e = { runAction, state: () => model.state() };
  }

  registerUiProtocol(protocol, rendererDir);
  registerIpcHandlers(ipcMain, handlers, (message) => console.warn(`IPC refused: ${message}`));

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
    if (prefs().notifications && Notification.isSupported())
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
  for (const profile of prefs().autoStartProfiles)
    await model.start(profile).catch((error: unknown) => report(`Could not start the tunnel for ${profile}`, error));
}
