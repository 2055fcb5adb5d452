import type { ForwardState, ForwardStatus } from "../cluster-access.js";
import { type RootLoopback, systemPortRefusal } from "../../root/index.js";
import type { CarriedListener, ForwardCarrier, UdpCarrier } from "./forward-carrier.js";

/** One Service port to forward: where it listens on this machine, and where it goes on the node's side. */
export interface ForwardSpec {
  readonly namespace: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: string;
  readonly targetHost: string;
  readonly targetPort: number;
  /** A node port's: the Service port it stands for (`port` is the node port). */
  readonly servicePort?: number;
  /** The node port every node answers on for this port, where UDP's relay sends (udp-relays.ts). */
  readonly nodePort?: number;
}

interface Entry {
  spec: ForwardSpec;
  state: ForwardState;
  error?: string;
  listener: CarriedListener | null;
  /** The helper listens on the Service port and relays to our port on the same address. */
  relayedFrom: number | null;
}

const keyOf = (s: Pick<ForwardSpec, "address" | "port" | "protocol">) => `${s.address}:${s.port}/${s.protocol}`;

/**
 * The loopback listeners of one profile's forwards, kept in step with the
 * wanted set by `apply`; the carrier takes each connection over the SSH
 * link. A port another program holds, a UDP port, and a failure are each
 * a state of their own, never dropped silently.
 */
export class ForwardListeners {
  private readonly entries = new Map<string, Entry>();
  private readonly aliases = new Set<string>();
  /** An alias being asked for: every port of a new address opens at once, and root is asked once for all of them. */
  private readonly aliasRequests = new Map<string, Promise<void>>();
  /** UDP's carrier, once the node's container engine is known; without one, UDP ports are "udp-not-forwarded". */
  udp: UdpCarrier | null = null;

  constructor(
    private readonly carrier: ForwardCarrier,
    private readonly privileges: () => RootLoopback | null,
    private readonly log: (line: string) => void,
    /** macOS: an address outside 127.0.0.1 answers only once it is an alias of lo0. */
    private readonly needsAlias = process.platform === "darwin",
  ) {}

  /** Opens what is new, closes what is gone, retries what failed. Resolves true when a state changed. */
  async apply(specs: readonly ForwardSpec[]): Promise<boolean> {
    const wanted = new Map(specs.map((s) => [keyOf(s), s]));
    let changed = false;
    for (const [key, entry] of this.entries) {
      if (wanted.has(key)) continue;
      await this.close(entry);
      this.entries.delete(key);
      changed = true;
    }
    await this.dropUnusedAliases(specs);
    await Promise.all(
      [...wanted].map(async ([key, spec]) => {
        const entry = this.entries.get(key);
        if (entry) {
          const retarget = entry.spec.targetHost !== spec.targetHost || entry.spec.targetPort !== spec.targetPort;
          if (retarget || entry.spec.name !== spec.name) changed = true;
          entry.spec = spec;
          // Our own listeners read the target at each connection; OpenSSH's is fixed, so it listens anew.
          if (retarget && this.carrier.fixedTarget && entry.listener) {
            await this.close(entry);
            entry.state = "error";
          }
          if (entry.state === "listening" || (entry.state === "udp-not-forwarded" && this.notCarried(spec))) return;
          changed = (await this.open(entry)) || changed;
          return;
        }
        const fresh: Entry = { spec, state: "error", listener: null, relayedFrom: null };
        this.entries.set(key, fresh);
        await this.open(fresh);
        changed = true;
      }),
    );
    return changed;
  }

  statuses(): ForwardStatus[] {
    return [...this.entries.values()]
      .map(({ spec, state, error }) => ({
        namespace: spec.namespace,
        name: spec.name,
        address: spec.address,
        port: spec.port,
        protocol: spec.protocol,
        target: `${spec.targetHost}:${spec.targetPort}`,
        ...(spec.servicePort !== undefined ? { servicePort: spec.servicePort } : {}),
        state,
        ...(error ? { error } : {}),
      }))
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.port - b.port);
  }

  /**
   * Which addresses this tunnel holds (at least one port listening, none in use by another program), and which another
   * program holds a port of. Names go only to held ones: forward mode's addresses are predictable from the profile's
   * name, so another local user may listen there first (docs/security.md, "The root policy", row Relays).
   */
  holding(): { readonly held: ReadonlySet<string>; readonly taken: ReadonlySet<string> } {
    const listening = new Set<string>();
    const taken = new Set<string>();
    for (const { spec, state } of this.entries.values()) {
      if (state === "listening") listening.add(spec.address);
      if (state === "port-in-use") taken.add(spec.address);
    }
    return { held: new Set([...listening].filter((a) => !taken.has(a))), taken };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.close(e)));
    this.entries.clear();
    await this.dropUnusedAliases([]);
  }

  /** Why a port that is not TCP is not carried (no UDP carrier yet, SCTP, no node port), or null. */
  private notCarried(spec: ForwardSpec): string | null {
    if (spec.protocol === "TCP") return null;
    return this.udp
      ? this.udp.refusal(spec)
      : `${spec.protocol} is not carried over SSH; its relays beside the node start once this tunnel holds the profile`;
  }

  /** Returns true when the entry's state changed. */
  private async open(entry: Entry): Promise<boolean> {
    const before = `${entry.state}${entry.error}`;
    const { spec } = entry;
    const refusal = this.notCarried(spec);
    if (refusal) {
      entry.state = "udp-not-forwarded";
      entry.error = refusal;
      return before !== `${entry.state}${entry.error}`;
    }
    try {
      // The cluster picks the ports: whoever binds a low one (root in process, a macOS user, the helper's relay) keeps
      // off the ports local programs expect a system service on.
      const system = spec.port < 1024 ? systemPortRefusal(spec.port) : null;
      if (system) throw new Error(`not forwarded: ${system}`);
      await this.ensureAlias(spec.address);
      const target = () => ({ host: entry.spec.targetHost, port: entry.spec.targetPort });
      try {
        entry.listener =
          spec.protocol === "UDP"
            ? await this.udp!.listen(spec)
            : await this.carrier.listen(spec.address, spec.port, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EACCES" || spec.port >= 1024) throw error;
        // The helper relays TCP only: a UDP relay as root would be one more thing root does for any local user.
        if (spec.protocol === "UDP")
          throw new Error(`UDP port ${spec.port} is below 1024, which only root may listen on here`);
        await this.openThroughHelper(entry);
      }
      entry.state = "listening";
      entry.error = undefined;
    } catch (error) {
      await entry.listener?.close().catch(() => undefined);
      entry.listener = null;
      const code = (error as NodeJS.ErrnoException).code;
      entry.state = code === "EADDRINUSE" || /in use/i.test((error as Error).message) ? "port-in-use" : "error";
      entry.error =
        entry.state === "port-in-use"
          ? `${spec.address}:${spec.port} is in use by another program`
          : (error as Error).message;
      if (before !== `${entry.state}${entry.error}`)
        this.log(`${spec.namespace}/${spec.name}: cannot listen on ${spec.address}:${spec.port}: ${entry.error}`);
    }
    return before !== `${entry.state}${entry.error}`;
  }

  /**
   * A port below 1024 as a normal user on Linux: we listen on a free port of the same address, the helper listens on
   * the real one.
   */
  private async openThroughHelper(entry: Entry): Promise<void> {
    const privileges = this.privileges();
    if (!privileges) throw new Error(`port ${entry.spec.port} needs root, and no privileged helper is available`);
    entry.listener = await this.carrier.listen(entry.spec.address, 0, () => ({
      host: entry.spec.targetHost,
      port: entry.spec.targetPort,
    }));
    await privileges.relay(entry.spec.address, entry.spec.port, entry.listener.port);
    entry.relayedFrom = entry.listener.port;
  }

  private async close(entry: Entry): Promise<void> {
    const listener = entry.listener;
    entry.listener = null;
    await listener
      ?.close()
      .catch((error: Error) =>
        this.log(`could not close the listener on ${entry.spec.address}:${entry.spec.port}: ${error.message}`),
      );
    if (entry.relayedFrom !== null) {
      entry.relayedFrom = null;
      await this.privileges()
        ?.unrelay(entry.spec.address, entry.spec.port)
        .catch((error: Error) =>
          this.log(
            `could not stop the helper's listener on ${entry.spec.address}:${entry.spec.port}: ${error.message}`,
          ),
        );
    }
  }

  private ensureAlias(address: string): Promise<void> {
    if (!this.needsAlias || address === "127.0.0.1" || this.aliases.has(address)) return Promise.resolve();
    let request = this.aliasRequests.get(address);
    if (!request) {
      // A failure reaches every port waiting on it; the next pass asks again.
      request = this.addAlias(address).finally(() => this.aliasRequests.delete(address));
      this.aliasRequests.set(address, request);
    }
    return request;
  }

  private async addAlias(address: string): Promise<void> {
    const privileges = this.privileges();
    if (!privileges) throw new Error(`${address} needs a loopback alias, and no privileged helper is available`);
    await privileges.alias(address, true);
    this.aliases.add(address);
  }

  private async dropUnusedAliases(specs: readonly ForwardSpec[]): Promise<void> {
    const used = new Set(specs.map((s) => s.address));
    for (const address of [...this.aliases]) {
      if (used.has(address)) continue;
      this.aliases.delete(address);
      await this.privileges()
        ?.alias(address, false)
        .catch((error: Error) => this.log(`could not remove the loopback alias ${address}: ${error.message}`));
    }
  }
}
