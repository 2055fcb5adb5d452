import { userInfo } from "node:os";
import { join } from "node:path";
import type { App, Dialog } from "electron";
import { registryPath } from "../../engine/cluster/minipath.js";
import { defaultRuntimeDir, runAsRoot } from "../../engine/elevation/elevation.js";
import { launchHelper } from "../../engine/elevation/helper-launch.js";
import { connectInstalledHelper, openPrivilegedHelper } from "../../engine/elevation/installed-helper-client.js";
import { LazyRoot } from "../../engine/elevation/lazy-root.js";
import { stagedArgv } from "../../engine/elevation/staged-launch.js";
import type { Preferences } from "../../shared/preferences.js";
import { APP_VERSION } from "../../shared/version.js";
import { helperOnVersionMismatch, helperWhenNoneAnswers } from "./helper-choice.js";
import { appHelperProgram, packagedHelperDigests } from "./helper-program.js";

export interface ProvisioningDeps {
  readonly app: Pick<App, "isPackaged" | "getAppPath">;
  readonly dialog: Pick<Dialog, "showMessageBox">;
  readonly resourcesPath: string;
  readonly miniPath: string;
  /** The preferences as they are now, and a way to change the helper's part of them. */
  readonly prefs: () => Preferences;
  readonly savePrefs: (change: Partial<Preferences>) => void;
  /** Where a message for the user goes when a helper of another version is found (the window's error line). */
  readonly say: (line: string) => void;
}

/**
 * How the tray app reaches root (docs/architecture.md, "The installed
 * helper"): the installed helper when it answers (no prompt), otherwise, at
 * the first Start or Cleanup, the one question (install once, or a password
 * each session), or the upgrade offer when the installed helper is another
 * version. `install` runs `mktunnel helper install` as root from a checked
 * copy of the packaged CLI, never from the user's files.
 */
export function provisionHelper(deps: ProvisioningDeps): { root: LazyRoot; install: () => Promise<void> } {
  const registry = registryPath(deps.miniPath);
  const digests = packagedHelperDigests(deps.app.isPackaged, deps.app.getAppPath());
  const perSession = () =>
    launchHelper({
      miniPath: deps.miniPath,
      registryPath: registry,
      mode: "gui",
      program: appHelperProgram(deps.app.isPackaged, deps.resourcesPath),
      logName: "minikube-tunnel-helper.log",
      ...(digests ? { digests } : {}),
    });
  const install = async () => {
    if (!digests)
      throw new Error(
        "the helper is installed from a package (or: sudo node dist/helper-bundle/mktunnel.mjs helper install)",
      );
    const installArgs = ["helper", "install", "--user", userInfo().username];
    const dir = join(deps.resourcesPath, "helper");
    // Windows has no POSIX shell to stage with; the install checks the files it copies by their ACLs there.
    await runAsRoot(
      "gui",
      process.platform === "win32"
        ? [join(dir, "node.exe"), join(dir, "mktunnel.mjs"), ...installArgs]
        : stagedArgv(dir, "mktunnel.mjs", digests, join(defaultRuntimeDir(), "stage"), installArgs),
    );
  };
  const connectInstalled = () => connectInstalledHelper(registry).catch(() => null);
  const ask = async (): Promise<"install" | "each-time"> => {
    const { response } = await deps.dialog.showMessageBox({
      type: "question",
      title: "Minikube Tunnel",
      message: "Minikube Tunnel needs administrator rights to change routes.",
      detail:
        "Install its network helper once, and you will not be asked for a password again. Or be asked once each time the app starts a tunnel.",
      buttons: ["Install the network helper (asks once)", "Ask each time"],
      defaultId: 0,
      cancelId: 1,
    });
    return response === 0 ? "install" : "each-time";
  };
  const askUpgrade = async (installed: string): Promise<"upgrade" | "later"> => {
    const { response } = await deps.dialog.showMessageBox({
      type: "question",
      title: "Minikube Tunnel",
      message: `The installed network helper is version ${installed}; this app is ${APP_VERSION}.`,
      detail: "Upgrade it now (asks for your password once). Until then, each session asks for a password.",
      buttons: ["Upgrade the network helper", "Not now"],
      defaultId: 0,
      cancelId: 1,
    });
    return response === 0 ? "upgrade" : "later";
  };
  const choose = () =>
    helperWhenNoneAnswers({
      preference: () => deps.prefs().helper,
      setPreference: (helper) => deps.savePrefs({ helper }),
      ask,
      install,
      connectInstalled,
      perSession,
    });
  const upgrade = (installed: string) =>
    helperOnVersionMismatch(
      {
        declined: () => deps.prefs().helperUpgradeDeclined,
        setDeclined: (helperUpgradeDeclined) => deps.savePrefs({ helperUpgradeDeclined }),
        askUpgrade,
        install,
        connectInstalled,
        perSession,
      },
      installed,
      APP_VERSION,
    );
  return { root: new LazyRoot(() => openPrivilegedHelper(registry, choose, deps.say, process.env, upgrade)), install };
}
