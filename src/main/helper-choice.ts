import type { HelperClient } from "../engine/privileged/helper-client.js";

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
      const pause = deps.pause ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
      // The service manager starts it in the background.
      for (let i = 0; i < 50; i++) {
        const client = await deps.connectInstalled();
        if (client) return client;
        await pause(100);
      }
      throw new Error("the helper was installed but does not answer yet; try again in a moment");
    }
    deps.setPreference("each-time");
  }
  return deps.perSession();
}
