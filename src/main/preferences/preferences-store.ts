import Store from "electron-store";
import {
  type Preferences,
  DEFAULT_PREFERENCES,
  PreferencesError,
  migratePreferences,
  preferencesSchema,
} from "../../shared/preferences.js";

/**
 * Preferences on disk through electron-store. A file that cannot be parsed or
 * migrated is never overwritten: the app runs on defaults, says so, and
 * refuses to save until the user has fixed or moved the file.
 */
export class PreferencesStore {
  private readonly store: Store | null;
  private current: Preferences;
  readonly problem: string | null;

  constructor(name = "preferences") {
    let store: Store | null = null;
    let problem: string | null = null;
    let current = structuredClone(DEFAULT_PREFERENCES);
    try {
      store = new Store({ name, clearInvalidConfig: false });
      const stored: unknown = store.store;
      current = migratePreferences(Object.keys(store.store).length === 0 ? undefined : stored);
      if (JSON.stringify(stored) !== JSON.stringify(current)) store.store = current;
    } catch (error) {
      const where = store?.path ?? `${name}.json in the app's data folder`;
      problem = `preferences in ${where} could not be used (${error instanceof PreferencesError ? error.message : (error as Error).message}); they were left as they are and defaults apply until the file is fixed or moved`;
      store = null;
    }
    this.store = store;
    this.current = current;
    this.problem = problem;
  }

  get(): Preferences {
    return structuredClone(this.current);
  }

  set(next: Preferences): Preferences {
    const parsed = preferencesSchema.parse(next);
    if (!this.store) throw new Error(this.problem ?? "preferences cannot be saved");
    this.store.store = parsed;
    this.current = parsed;
    return this.get();
  }
}
