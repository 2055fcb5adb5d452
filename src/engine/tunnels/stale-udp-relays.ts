import { type ContainerCli, type ContainerEngine, containerEngineOf } from "../cluster/container-cli.js";
import { readProfileConfig } from "../cluster/profile-config.js";
import type { TunnelLocks } from "../registry/tunnel-lock.js";

export interface UdpRelayCleanup {
  readonly profile: string;
  readonly removed: string[];
  readonly failures: string[];
  /** Why this profile was not looked at (a tunnel still runs, its engine does not answer). */
  readonly skipped?: string;
}

/**
 * Forward mode's UDP relays (udp-relays.ts) that a tunnel killed before its
 * stop left beside the node: for each profile of a container driver whose
 * tunnel lock nobody holds, its labelled relays are removed. An engine that
 * does not answer is skipped, not failed: `minikube delete` removes them too.
 */
export async function removeUdpRelaysOfGoneTunnels(
  miniPath: string,
  profiles: readonly string[],
  runningHere: ReadonlySet<string>,
  containersFor: (engine: ContainerEngine) => ContainerCli,
  locks: Pick<TunnelLocks, "check"> | null,
): Promise<UdpRelayCleanup[]> {
  const results: UdpRelayCleanup[] = [];
  for (const profile of profiles) {
    const driver = await readProfileConfig(miniPath, profile).then(
      (c) => c.driver,
      () => "",
    );
    const engine = containerEngineOf(driver);
    if (!engine) continue;
    const running = async () => runningHere.has(profile) || ((await locks?.check(profile)) ?? null) !== null;
    // A lock that cannot be read may be held: its relays are left alone.
    const unknown = (error: Error) => `cannot tell whether a tunnel for it runs: ${error.message}`;
    const skipped = await running().then((yes) => (yes ? "a tunnel for it is running" : null), unknown);
    if (skipped) {
      results.push({ profile, removed: [], failures: [], skipped });
      continue;
    }
    const containers = containersFor(engine);
    let left: string[];
    try {
      left = await containers.udpRelays(profile);
    } catch (error) {
      results.push({ profile, removed: [], failures: [], skipped: (error as Error).message });
      continue;
    }
    if (left.length === 0) continue;
    // A tunnel may have started meanwhile, its relays among these: asked again just before they go.
    const startedMeanwhile = await running().then((yes) => (yes ? "a tunnel for it is running" : null), unknown);
    if (startedMeanwhile) {
      results.push({ profile, removed: [], failures: [], skipped: startedMeanwhile });
      continue;
    }
    try {
      await containers.remove(left);
      results.push({ profile, removed: left, failures: [] });
    } catch (error) {
      results.push({ profile, removed: [], failures: left.map((n) => `${n}: ${(error as Error).message}`) });
    }
  }
  return results;
}
