import type { AccessModeChoice, Preferences } from "../../shared/preferences.js";
import { preferencesFromWindow } from "./preferences-policy.js";

/** Where preferences are kept: PreferencesStore (electron-store) in the app. */
export interface PreferencesStorage {
  get(): Preferences;
  /** Validates and saves; answers what was saved. Throws when it cannot save (a file it refused to read). */
  set(next: Preferences): Preferences;
}

/** The OS's login item (Electron's app.setLoginItemSettings); null where there is none to set (an unpackaged app). */
export type LoginItem = ((openAtLogin: boolean) => void) | null;

/**
 * The one way the app changes its preferences (docs/architecture.md, "The
 * tray app"): the window's Preferences, a profile's access mode (tray or
 * window), main's minikube file dialog, and the helper's choice all save
 * through here, so the login item follows `startAtLogin` whichever path
 * saved it. The login item is told at the first save and whenever the value
 * changes after that, not at every save.
 */
export class PreferencesController {
  private current: Preferences;
  /** What the login item was last told in this process; null before the first save. */
  private loginItemAt: boolean | null = null;

  constructor(
    private readonly storage: PreferencesStorage,
    private readonly loginItem: LoginItem,
  ) {
    this.current = storage.get();
  }

  /** A copy: whoever reads it cannot change what the next save starts from. */
  get(): Preferences {
    return structuredClone(this.current);
  }

  /** The app's own changes (the helper's choice, a declined upgrade). */
  update(change: Partial<Preferences>): Preferences {
    return this.save({ ...this.current, ...change });
  }

  /** The window's Preferences, which may not choose the minikube binary (preferences-policy.ts). */
  fromWindow(next: Preferences): Preferences {
    return this.save(preferencesFromWindow(this.current, next));
  }

  /** A profile's access mode, from the tray's Mode submenu or the window. */
  setAccessMode(profile: string, mode: AccessModeChoice): Preferences {
    return this.save({ ...this.current, accessModes: { ...this.current.accessModes, [profile]: mode } });
  }

  /** The binary the user picked in main's file dialog. */
  chooseMinikube(path: string): Preferences {
    return this.save({ ...this.current, minikubePath: path });
  }

  private save(next: Preferences): Preferences {
    this.current = this.storage.set(next);
    if (this.loginItem && this.loginItemAt !== this.current.startAtLogin) {
      this.loginItem(this.current.startAtLogin);
      this.loginItemAt = this.current.startAtLogin;
    }
    return this.get();
  }
}
