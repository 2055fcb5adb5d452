/** Runs a user action through the API and shows its failure; the views get it from App. */
export type Act = (what: string, call: () => Promise<unknown>) => Promise<void>;
