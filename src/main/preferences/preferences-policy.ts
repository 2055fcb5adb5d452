import type { Preferences } from "../../shared/preferences.js";

/**
 * What the window may change: everything but the minikube binary, which it may
 * only clear (back to PATH). Choosing one goes through main's file dialog, so a
 * compromised page cannot make the app run a program of its choosing.
 */
export function preferencesFromWindow(current: Preferences, fromWindow: Preferences): Preferences {
  return { ...fromWindow, minikubePath: fromWindow.minikubePath === null ? null : current.minikubePath };
}
