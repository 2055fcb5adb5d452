import { currentProcessIdentity } from "../../registry/process-liveness.js";
import { PolicyError } from "../policy/policy-error.js";
import type { WildcardEntry, WildcardsResult } from "../root.js";
import type { NamesOwner } from "./dns-resolver.js";
import { DnsResponder } from "./dns-responder.js";
import { type DomainRouter, RESPONDER_CANDIDATES, responderCandidate } from "./domain-router.js";
import { markerStarted } from "./hosts-block.js";
import { DomainRouterDarwin } from "./domain-router-darwin.js";
import { DomainRouterLinux } from "./domain-router-linux.js";
import { DomainRouterWindows } from "./domain-router-windows.js";
import { WildcardZone } from "./wildcard-zone.js";

/**
 * Wildcards one profile may have answered: a profile's Ingresses and Gateways name a handful of wildcard domains,
 * rarely dozens. The whole responder holds at most MAX_RESPONDER_ENTRIES, whoever declared them, so what every
 * session (16 clients of 32 profiles each) can make root hold stays bounded, as the hosts caps bound the hosts file.
 */
export const MAX_WILDCARDS_PER_PROFILE = 256;
export const MAX_RESPONDER_ENTRIES = 4096;

/** The OS side of this platform: /etc/resolver files and an lo0 alias, NRPT rules, or a link in systemd-resolved. */
function routerFor(platform: NodeJS.Platform, self: NamesOwner, runtimeDir: string): DomainRouter {
  if (platform === "darwin") return new DomainRouterDarwin(self, runtimeDir);
  if (platform === "win32") return new DomainRouterWindows(self, runtimeDir);
  return new DomainRouterLinux(self, runtimeDir);
}

/**
 * The one DNS responder of this root process and its OS routing, shared by every session (docs/architecture.md,
 * "Ingress and Gateway names", "Wildcards"): started with the first wildcard, stopped (and its link deleted) with the
 * last. Changes are serialised.
 */
export class WildcardService {
  private readonly zone = new WildcardZone();
  private responder: { server: DnsResponder; link: string } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private router: Promise<DomainRouter> | null = null;
  /** What the OS side said it did (and which domains it could not route), for every answer while they stay. */
  private routed: { how: string; refused: ReadonlyMap<string, string> } | null = null;

  constructor(
    private readonly runtimeDir: string,
    private readonly platform: NodeJS.Platform = process.platform,
    /** Tests: a router of their own (a lab's resolved), and the port. */
    private readonly options: { router?: DomainRouter; port?: number } = {},
  ) {}

  private osRouter(): Promise<DomainRouter> {
    this.router ??= this.options.router
      ? Promise.resolve(this.options.router)
      : currentProcessIdentity().then((self) =>
          routerFor(this.platform, { pid: self.pid, started: markerStarted(self.startTime) }, this.runtimeDir),
        );
    return this.router;
  }

  /** `owner`'s wildcards (one session's profile) replaced; null or [] takes them back. */
  set(owner: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    const next = this.queue.then(() => this.apply(owner, entries));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async apply(owner: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    const all = entries ?? [];
    const dropAll = (reason: string): WildcardsResult => ({
      dropped: all.map((e) => ({ name: e.pattern, reason })),
    });
    if (all.length > 0) {
      if (this.zone.sizeWith(owner, all.length) > MAX_RESPONDER_ENTRIES)
        throw new PolicyError(
          `refusing ${all.length} wildcards: root's DNS responder would hold more than the ${MAX_RESPONDER_ENTRIES} it answers for all clients`,
        );
    }
    const before = this.zone.domains();
    this.zone.set(owner, all);
    const domains = this.zone.domains();
    if (domains.length === 0) {
      await this.stop();
      return { dropped: [] };
    }
    try {
      const router = await this.osRouter();
      const why = this.responder ? null : await router.unavailable();
      if (why) {
        this.zone.set(owner, null);
        return dropAll(why);
      }
      if (!this.responder) this.responder = await this.start(router);
      if (domains.join() !== before.join() || this.routed === null) {
        const result = await router.up(this.responder.link, this.responder.server.address, domains);
        this.routed = { how: result.how, refused: result.refused ?? new Map() };
      }
      const refused = this.routed.refused;
      return {
        how: this.routed.how,
        dropped: all.flatMap((e) => {
          const why = refused.get(e.pattern.slice(2));
          return why === undefined ? [] : [{ name: e.pattern, reason: why }];
        }),
      };
    } catch (error) {
      this.zone.set(owner, null);
      this.routed = null;
      if (this.zone.domains().length === 0) await this.stop().catch(() => undefined);
      return dropAll((error as Error).message);
    }
  }

  /** The first free address and link of the candidates: another root process may hold one. */
  private async start(router: DomainRouter): Promise<{ server: DnsResponder; link: string }> {
    let last: Error | null = null;
    for (let i = 0; i < RESPONDER_CANDIDATES; i++) {
      const { address, link } = responderCandidate(i);
      if (await router.taken(link, address)) continue;
      await router.claim(link, address);
      try {
        return { server: await DnsResponder.listen(this.zone, address, this.options.port ?? 53), link };
      } catch (error) {
        last = error as Error;
        await router.down(link);
      }
    }
    throw new Error(`no address for root's DNS responder (${last?.message ?? "every link name is taken"})`);
  }

  private async stop(): Promise<void> {
    const running = this.responder;
    if (!running) return;
    this.responder = null;
    this.routed = null;
    await running.server.close();
    await (await this.osRouter()).down(running.link);
  }

  /** Links that a dead root process left. */
  async removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    return (await this.osRouter()).removeStale(isAlive);
  }
}

let shared: WildcardService | null = null;

/** This root process's one service (the helper's sessions all use it), made at first use. */
export function sharedWildcardService(runtimeDir: string): WildcardService {
  shared ??= new WildcardService(runtimeDir);
  return shared;
}

/** One session's handle on the service: its profiles, each an owner, all taken back when the session ends. */
export class WildcardNames {
  private static sessions = 0;
  private readonly key = `s${++WildcardNames.sessions}`;
  private readonly profiles = new Set<string>();

  constructor(private readonly service: WildcardService) {}

  async set(profile: string, entries: readonly WildcardEntry[] | null): Promise<WildcardsResult> {
    if (entries !== null && entries.length > MAX_WILDCARDS_PER_PROFILE)
      throw new PolicyError(
        `refusing ${entries.length} wildcards for profile "${profile}": at most ${MAX_WILDCARDS_PER_PROFILE} a profile`,
      );
    // Noted before it is applied: a half-applied setting is still taken back.
    if (entries !== null && entries.length > 0) this.profiles.add(profile);
    const result = await this.service.set(`${this.key}/${profile}`, entries);
    if (entries === null || entries.length === 0) this.profiles.delete(profile);
    return result;
  }

  async clearAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const profile of [...this.profiles])
      await this.set(profile, null).catch((e: Error) => failures.push(`wildcard names of ${profile}: ${e.message}`));
    return failures;
  }

  removeStale(isAlive: (pid: number, started: string) => Promise<boolean>): Promise<string[]> {
    return this.service.removeStale(isAlive);
  }
}
