import type { AppModel } from "../../app/app-model.js";
import type { HelperConfig } from "../../engine/elevation/helper-layout.js";
import { isNameUrl, nameUrl } from "../../shared/name-address.js";
import { isServiceUrl, serviceUrl } from "../../shared/service-address.js";
import type { PreferencesController } from "../preferences/preferences-controller.js";
import type { IpcImplementation } from "./ipc-handlers.js";

/** The part of Electron's dialog main uses to pick the minikube binary. */
export interface OpenFileDialog {
  showOpenDialog(options: {
    title: string;
    properties: ("openFile" | "dontAddToRecent")[];
  }): Promise<{ canceled: boolean; filePaths: string[] }>;
}

export interface AppHandlerDeps {
  readonly model: Pick<AppModel, "state" | "start" | "stop" | "cleanup" | "logs" | "restartIfRunning">;
  readonly preferences: PreferencesController;
  readonly helper: {
    /** `mktunnel helper install` as root (helper/provisioning.ts). */
    install(): Promise<void>;
    /** The installed helper's record (helper.json), null when none is installed. */
    config(): Promise<HelperConfig | null>;
    /** Whether the installed helper's service answers. */
    answers(): Promise<boolean>;
  };
  readonly dialog: OpenFileDialog;
  readonly copy: (text: string) => void;
  /** The OS browser (Electron's shell.openExternal); only ever given an address from our own state. */
  readonly openExternal: (url: string) => Promise<void>;
  readonly quit: () => void;
}

/**
 * What main does for each of the window's IPC channels (docs/architecture.md,
 * "The tray app"); registerIpcHandlers checks the sender and the arguments
 * before any of these runs. Every preference change goes through the
 * PreferencesController.
 */
export function appHandlers(deps: AppHandlerDeps): IpcImplementation {
  const { model, preferences } = deps;
  return {
    "state:get": () => model.state(),
    "tunnel:start": (profile) => model.start(profile),
    "tunnel:stop": (profile) => model.stop(profile),
    // Saved per profile; a running tunnel comes back up in the new mode.
    "profile:set-mode": async (profile, mode) => {
      preferences.setAccessMode(profile, mode);
      await model.restartIfRunning(profile);
    },
    "tunnels:cleanup": () => model.cleanup(),
    "clipboard:copy": (text) => deps.copy(text),
    "logs:get": (limit) => model.logs(limit),
    "prefs:get": () => preferences.get(),
    "prefs:set": (next) => preferences.fromWindow(next),
    "prefs:choose-minikube": async () => {
      const choice = await deps.dialog.showOpenDialog({
        title: "Choose the minikube binary",
        properties: ["openFile", "dontAddToRecent"],
      });
      const path = choice.canceled ? undefined : choice.filePaths[0];
      return path ? preferences.chooseMinikube(path) : preferences.get();
    },
    "service:open": async (ref) => {
      // The page names a Service port; the address comes from our own state, so a compromised page cannot open
      // anything else.
      const url = serviceUrl(model.state(), ref);
      if (!url || !isServiceUrl(url))
        throw new Error(`${ref.namespace}/${ref.name} has no http(s) port ${ref.port} with an external IP`);
      await deps.openExternal(url);
    },
    "name:open": async (ref) => {
      // As for Services: the page names a host and port, and the URL comes from our own state.
      const url = nameUrl(model.state(), ref);
      if (!url) throw new Error(`${ref.host} has no http(s) port ${ref.port} that resolves on this machine`);
      await deps.openExternal(url);
    },
    "helper:status": async () => {
      const config = await deps.helper.config().catch(() => null);
      return { installed: config !== null, running: await deps.helper.answers(), version: config?.version ?? null };
    },
    "helper:install": async () => {
      await deps.helper.install();
      preferences.update({ helper: "installed" });
    },
    "app:quit": () => deps.quit(),
  };
}

/** The tray's "Open in browser": a Service's or a mapped name's http(s) address, nothing else. */
export async function openStateUrl(deps: Pick<AppHandlerDeps, "model" | "openExternal">, url: string): Promise<void> {
  if (!isServiceUrl(url) && !isNameUrl(deps.model.state(), url))
    throw new Error(`refusing to open ${url}: not a Service's or a mapped name's http(s) address`);
  await deps.openExternal(url);
}
