import type { KubeConfigSource } from "../kube/kube-config.js";
import { KubeHttp } from "../kube/kube-http.js";
import { releaseAllOurExternalIps } from "../lb/external-ip-release.js";
import type { RegistryFile } from "../registry/registry-file.js";
import { registryViews } from "../root/index.js";
import type { TunnelLocks } from "../registry/tunnel-lock.js";

export interface ExternalIpCleanup {
  readonly profile: string;
  readonly released: string[];
  readonly failures: string[];
  /** Why this profile was not looked at (a tunnel still runs, no cluster to ask). */
  readonly skipped?: string;
}

export type KubeClientFor = (profile: string) => Promise<KubeHttp>;

/** A short-timeout client per profile: cleanup must not wait long on a cluster that is gone. */
export function kubeClientsFrom(kubeConfig: KubeConfigSource): KubeClientFor {
  return async (profile) => KubeHttp.fromKubeConfig(await kubeConfig(profile), { timeoutMs: 3000 });
}

/**
 * A tunnel that died without stopping (crash, kill -9) leaves the external
 * IPs its controller set. For each profile with no live tunnel (in this
 * process or in the registry), take back the external IPs we set and nobody
 * changed since. An unreachable cluster is skipped, not failed: there is
 * nothing to release that anyone can see.
 */
export async function releaseExternalIpsOfGoneTunnels(
  registry: RegistryFile,
  profiles: readonly string[],
  runningHere: ReadonlySet<string>,
  clientFor: KubeClientFor,
  locks: Pick<TunnelLocks, "check"> | null = null,
): Promise<ExternalIpCleanup[]> {
  const live = new Set(
    (await registryViews(await registry.readJson())).filter((v) => v.alive).map((v) => v.entry.profile),
  );
  return Promise.all(
    profiles.map(async (profile): Promise<ExternalIpCleanup> => {
      // A forward-mode tunnel has no registry entry; the tunnel lock it holds says it is alive.
      const held = (await locks?.check(profile).catch(() => null)) ?? null;
      if (runningHere.has(profile) || live.has(profile) || held !== null)
        return { profile, released: [], failures: [], skipped: "a tunnel for it is running" };
      let client: KubeHttp;
      try {
        client = await clientFor(profile);
        return { profile, ...(await releaseAllOurExternalIps(client)) };
      } catch (error) {
        return {
          profile,
          released: [],
          failures: [],
          skipped: `cluster not reachable: ${(error as Error).message.replace(/\s*\n\s*/g, " ")}`,
        };
      }
    }),
  );
}
