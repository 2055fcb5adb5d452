import type { HelperClient } from "../../engine/elevation/helper-client.js";

export type HelperPreference = "ask" | "each-time" | "installed";

export interface HelperChoiceDeps {
  preference(): HelperPreference;
  setPreference(preference: HelperPreference): void;
  /** Asks the user once (the app's dialog): install the helper, or a password each session. */
  ask(): Promise<"install" | "each-time">;
  /** One elevation that runs `mktunnel helper install` for this user. */
  install(): Promise<void>;
  connectInstalled(): Promise<HelperClient | null>;
  perSession(): Promise<HelperClient>;
  /** Waits a moment between looks for the service just installed. */
  pause?: (ms: number) => Promise<void>;
}

/**
 * The first time a Start needs root and no installed helper answers: offer to
 * install it (one password, then never again), or ask each time from then on.
 * The answer is kept; a declined install is an error the window shows, and
 * the next Start asks again.
 */
export async function helperWhenNoneAnswers(deps: HelperChoiceDeps): Promise<HelperClient> {
  if (deps.preference() === "ask") {
    if ((await deps.ask()) === "install") {
      await deps.install();
      deps.setPreference("installed");
      return installedOnceItAnswers(deps, "installed");
    }
    deps.setPreference("each-time");
  }
  return deps.perSession();
}

export interface HelperUpgradeDeps extends Pick<
  HelperChoiceDeps,
  "install" | "connectInstalled" | "perSession" | "pause"
> {
  /** The mismatch the user last said "not now" to, as `installed>app`; null when none. */
  declined(): string | null;
  setDeclined(mismatch: string): void;
  /** Asks the user (the app's dialog): upgrade the installed helper now, or not now. */
  askUpgrade(installed: string): Promise<"upgrade" | "later">;
}

/**
 * The installed helper is another version than the app: offer the upgrade
 * once (one password); until it is done, each session asks for a password.
 * "Not now" is kept for this pair of versions, so the offer is not repeated
 * at every Start; a newer app asks again.
 */
export async function helperOnVersionMismatch(
  deps: HelperUpgradeDeps,
  installed: string,
  appVersion: string,
): Promise<HelperClient> {
  const mismatch = `${installed}>${appVersion}`;
  if (deps.declined() !== mismatch) {
    if ((await deps.askUpgrade(installed)) === "upgrade") {
      // Installing again replaces the files and restarts the service: an upgrade in place.
      await deps.install();
      return installedOnceItAnswers(deps, "upgraded");
    }
    deps.setDeclined(mismatch);
  }
  return deps.perSession();
}

async function installedOnceItAnswers(
  deps: Pick<HelperChoiceDeps, "connectInstalled" | "pause">,
  what: string,
): Promise<HelperClient> {
  const pause = deps.pause ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  // The service manager starts it in the background.
  for (let i = 0; i < 50; i++) {
    const client = await deps.connectInstalled();
    if (client) return client;
    await pause(100);
  }
  throw new Error(`the helper was ${what} but does not answer yet; try again in a moment`);
}
