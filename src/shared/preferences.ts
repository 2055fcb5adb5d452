import { z } from "zod";
import { isValidCidr, isValidIp } from "./cidr.js";
import { isValidProfileName } from "./profile-name.js";

/** A pool entry is a CIDR or a start-end range, as `mktunnel --lb-pool` takes it. */
function isPoolEntry(entry: string): boolean {
  if (isValidCidr(entry)) return true;
  const [start, end, ...rest] = entry.split("-");
  return (
    rest.length === 0 && start !== undefined && end !== undefined && isValidIp(start.trim()) && isValidIp(end.trim())
  );
}

/** Kubernetes loadBalancerClass: a label-style key such as `example.com/lb`. */
const LB_CLASS =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * Preferences: stored by the main process only (electron-store), versioned
 * with migrations; the window edits them through IPC and main validates again.
 */
export const PREFERENCES_VERSION = 5;

export const accessModeChoice = z.enum(["auto", "route", "forward"]);
export type AccessModeChoice = z.infer<typeof accessModeChoice>;

export const preferencesSchema = z.object({
  version: z.literal(PREFERENCES_VERSION),
  autoStartProfiles: z.array(z.string().refine(isValidProfileName, "invalid profile name")),
  loadBalancer: z.object({
    mode: z.enum(["clusterip", "pool"]),
    pool: z.array(z.string().trim().refine(isPoolEntry, "must be a CIDR or a start-end range")),
    className: z.string().regex(LB_CLASS, "must be a loadBalancerClass such as example.com/lb").nullable(),
    releaseOnStop: z.boolean(),
  }),
  startAtLogin: z.boolean(),
  notifications: z.boolean(),
  minikubePath: z
    .string()
    .refine((p) => p.startsWith("/") || /^[A-Za-z]:\\/.test(p), "must be an absolute path")
    .nullable(),
  /**
   * Per profile: routes, forwards, or minikube's rule for the driver ("auto", the default for a profile not listed).
   */
  accessModes: z.record(z.string().refine(isValidProfileName, "invalid profile name"), accessModeChoice),
  /** Cluster names (svc.ns.svc.cluster.local) resolve on this machine while a tunnel runs. */
  names: z.boolean(),
  /** Forward mode: every node port on 127.0.0.1:<nodePort>, as Docker Desktop publishes them (`--no-node-ports`). */
  nodePorts: z.boolean(),
  /**
   * Root's help: "ask" (the first time it is needed, offer to install the helper once), "each-time" (a password per
   * session), or "installed".
   */
  helper: z.enum(["ask", "each-time", "installed"]),
  /**
   * An installed helper of another version whose upgrade the user put off, as `installed>app`: not offered again for
   * that pair.
   */
  helperUpgradeDeclined: z.string().max(100).nullable(),
});

export type Preferences = z.infer<typeof preferencesSchema>;

export const DEFAULT_PREFERENCES: Preferences = {
  version: PREFERENCES_VERSION,
  autoStartProfiles: [],
  loadBalancer: { mode: "clusterip", pool: [], className: null, releaseOnStop: true },
  startAtLogin: false,
  notifications: true,
  minikubePath: null,
  accessModes: {},
  names: true,
  nodePorts: true,
  helper: "ask",
  helperUpgradeDeclined: null,
};

type Stored = Record<string, unknown>;

/** Each step takes version N to N+1. Version 1 had flat `lbMode`/`lbPool` keys and a single `autoStart` profile. */
const MIGRATIONS: Record<number, (old: Stored) => Stored> = {
  1: (old) => {
    const { lbMode, lbPool, autoStart, ...rest } = old;
    return {
      ...rest,
      version: 2,
      autoStartProfiles: typeof autoStart === "string" && autoStart !== "" ? [autoStart] : [],
      loadBalancer: {
        ...DEFAULT_PREFERENCES.loadBalancer,
        mode: lbMode === "pool" ? "pool" : "clusterip",
        pool: typeof lbPool === "string" && lbPool !== "" ? [lbPool] : [],
      },
    };
  },
  /** Version 3 added how each profile is reached, and cluster names on the host. */
  2: (old) => ({ ...old, version: 3, accessModes: {}, names: true, helper: "ask" }),
  /** Version 4 remembers a helper upgrade the user put off. */
  3: (old) => ({ ...old, version: 4, helperUpgradeDeclined: null }),
  /** Version 5 added node ports in forward mode, on as before. */
  4: (old) => ({ ...old, version: 5, nodePorts: true }),
};

export class PreferencesError extends Error {}

/**
 * Brings stored preferences up to date; unknown future versions and invalid values are reported, never silently reset.
 */
export function migratePreferences(stored: unknown): Preferences {
  if (stored === undefined || stored === null) return structuredClone(DEFAULT_PREFERENCES);
  if (typeof stored !== "object" || Array.isArray(stored)) throw new PreferencesError("preferences are not an object");
  let current: Stored = { ...(stored as Stored) };
  let version = typeof current.version === "number" ? current.version : 1;
  if (version > PREFERENCES_VERSION)
    throw new PreferencesError(`preferences were written by a newer version (${version}); not touching them`);
  while (version < PREFERENCES_VERSION) {
    const step = MIGRATIONS[version];
    if (!step) throw new PreferencesError(`no migration from preferences version ${version}`);
    current = step(current);
    version = current.version as number;
  }
  const merged = {
    ...DEFAULT_PREFERENCES,
    ...current,
    loadBalancer: { ...DEFAULT_PREFERENCES.loadBalancer, ...(current.loadBalancer as Stored | undefined) },
  };
  const parsed = preferencesSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PreferencesError(`preference ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}
