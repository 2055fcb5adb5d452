import type { ViewName } from "../../shared/ipc-contract.js";
import type { MenuAction } from "./tray-menu.js";

export interface ActionDeps {
  start(profile: string): Promise<void>;
  stop(profile: string): Promise<void>;
  setMode(profile: string, mode: "auto" | "route" | "forward"): Promise<void>;
  cleanup(): Promise<{ removed: number; released: number; failures: string[] }>;
  copy(text: string): void;
  openUrl(url: string): Promise<void>;
  showWindow(view: ViewName): void;
  quit(): void;
  /** A failed action is told to the user, never swallowed. */
  report(title: string, error: unknown): void;
}

/** What a click in the tray (or the same action from the window) does. */
export function createActionRunner(deps: ActionDeps): (action: MenuAction) => Promise<void> {
  return async (action) => {
    try {
      switch (action.type) {
        case "start":
          return await deps.start(action.profile);
        case "stop":
          return await deps.stop(action.profile);
        case "set-mode":
          return await deps.setMode(action.profile, action.mode);
        case "cleanup": {
          const result = await deps.cleanup();
          if (result.failures.length > 0)
            deps.report("Cleanup could not remove every stale route", new Error(result.failures.join("\n")));
          return;
        }
        case "copy":
          return deps.copy(action.text);
        case "open-url":
          return await deps.openUrl(action.url);
        case "open-conflicts":
          return deps.showWindow("conflicts");
        case "open-services":
          return deps.showWindow("services");
        case "open-window":
          return deps.showWindow("tunnels");
        case "open-preferences":
          return deps.showWindow("preferences");
        case "quit":
          return deps.quit();
      }
    } catch (error) {
      deps.report(
        action.type === "start"
          ? `Could not start the tunnel for ${action.profile}`
          : action.type === "stop"
            ? `Could not stop the tunnel for ${action.profile}`
            : `${action.type} failed`,
        error,
      );
    }
  };
}
