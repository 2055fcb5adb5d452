import type { ContainerCli, NodePlacement, PublishedPort } from "../../cluster/container-cli.js";
import type { CarriedListener, UdpCarrier } from "./forward-carrier.js";
import type { ForwardSpec } from "./forward-listeners.js";
import { UDP_FLOW_IDLE_MS, UdpForwarder } from "./udp-forwarder.js";

/** A relay's container name: one per profile and node port, so a second start finds (and replaces) the first's. */
export const relayName = (profile: string, nodePort: number) => `mktunnel-udp-${profile}-${nodePort}`;

/** Relays one profile runs at most: the cluster chooses how many UDP node ports there are, each a container. */
export const MAX_RELAYS = 64;
/** How often a relay's container is looked at: a relay gone frees its published port for anyone to take. */
export const RELAY_CHECK_MS = 5000;
/** Container engine calls to start relays at once. */
const STARTS_AT_ONCE = 4;
/** After a failed start, flows fail at once for this long, doubling up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** Why a port cannot be carried as UDP through a relay, or null. */
export function udpRefusal(spec: Pick<ForwardSpec, "protocol" | "nodePort">): string | null {
  if (spec.protocol !== "UDP") return `${spec.protocol} is not forwarded; TCP and UDP ports are`;
  if (spec.nodePort === undefined)
    return "UDP goes through the Service's node port, and this Service has none (allocateLoadBalancerNodePorts: false)";
  return null;
}

interface Relay {
  users: number;
  readonly forwarders: Set<UdpForwarder>;
  /** Where the relay is published; dropped when it is found gone, so the next flow starts it again. */
  published: Promise<PublishedPort> | null;
  /** The port `published` resolved to, so a late error from an older relay's port drops nothing. */
  port: number | null;
  /** Set once no listener uses it: a start under way then removes what it made. */
  released: boolean;
  /** A start of ours succeeded: only then is a container of this name ours to remove. */
  made: boolean;
  failures: number;
  retryAt: number;
  check: NodeJS.Timeout | undefined;
}

/**
 * What carries forward mode's UDP (docs/architecture.md, "Forward mode",
 * UDP). SSH carries byte streams, which merge datagrams, so UDP goes another
 * way: one relay container per node port, from the node's own image on the
 * node's network, published by the container engine on 127.0.0.1; our
 * listener on the Service's loopback address sends each client's datagrams
 * to it. The relays are labelled with the profile: a stop removes them, a
 * start or `cleanup` removes those a killed tunnel left, `minikube delete`
 * removes them with the profile.
 */
export class UdpRelays implements UdpCarrier {
  private readonly relays = new Map<number, Relay>();
  private placement: Promise<NodePlacement> | null = null;
  private starting = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly containers: ContainerCli,
    private readonly profile: string,
    private readonly log: (line: string) => void,
    private readonly idleMs = UDP_FLOW_IDLE_MS,
    private readonly checkMs = RELAY_CHECK_MS,
  ) {}

  refusal(spec: Pick<ForwardSpec, "protocol" | "nodePort">): string | null {
    return udpRefusal(spec);
  }

  /** Relays a killed tunnel of this profile left: the caller holds the profile's tunnel lock, so none is in use. */
  async sweep(): Promise<string[]> {
    const left = await this.containers.udpRelays(this.profile);
    await this.containers.remove(left);
    return left;
  }

  /** A UDP listener on the spec's address and port, its datagrams relayed to the spec's node port. */
  async listen(spec: Pick<ForwardSpec, "address" | "port" | "protocol" | "nodePort">): Promise<CarriedListener> {
    const refusal = this.refusal(spec);
    if (refusal) throw new Error(refusal);
    const nodePort = spec.nodePort!;
    if (!this.relays.has(nodePort) && this.relays.size >= MAX_RELAYS)
      throw new Error(`not forwarded: this profile already relays ${MAX_RELAYS} UDP node ports, the most it runs`);
    const relay = this.relays.get(nodePort) ?? {
      users: 0,
      forwarders: new Set<UdpForwarder>(),
      published: null,
      port: null,
      released: false,
      made: false,
      failures: 0,
      retryAt: 0,
      check: undefined,
    };
    this.relays.set(nodePort, relay);
    relay.users++;
    let forwarder: UdpForwarder | null = null;
    try {
      // Bound first: a port in use, or one only root may take, costs no container.
      forwarder = await UdpForwarder.listen(
        spec.address,
        spec.port,
        {
          resolve: () => this.publishedPort(nodePort, relay),
          unreachable: (port) => relay.port === port && this.forget(relay),
        },
        this.log,
        { idleMs: this.idleMs },
      );
      relay.forwarders.add(forwarder);
      await this.publishedPort(nodePort, relay);
    } catch (error) {
      if (forwarder) relay.forwarders.delete(forwarder);
      await forwarder?.close();
      await this.release(nodePort, relay);
      throw error;
    }
    const bound = forwarder;
    return {
      port: bound.port,
      close: async () => {
        relay.forwarders.delete(bound);
        await bound.close();
        await this.release(nodePort, relay);
      },
    };
  }

  async removeAll(): Promise<void> {
    const relays = [...this.relays];
    this.relays.clear();
    for (const [, relay] of relays) this.retire(relay);
    // A start under way finishes first, so what it makes is removed too.
    await Promise.all(relays.map(([, r]) => r.published?.catch(() => undefined)));
    const made = relays.filter(([, r]) => r.made).map(([nodePort]) => relayName(this.profile, nodePort));
    await this.containers.remove(made);
  }

  /**
   * The node's container is gone (`minikube delete`, `docker rm`): its relays go too, or they would keep the profile's
   * network from being removed; the listeners stay, and the next flow starts a relay again.
   */
  async nodeGone(): Promise<void> {
    const made: string[] = [];
    for (const [nodePort, relay] of this.relays) {
      await relay.published?.catch(() => undefined);
      if (relay.made) made.push(relayName(this.profile, nodePort));
      relay.made = false;
      this.forget(relay);
    }
    await this.containers.remove(made);
  }

  /** The relay is gone or moved: its flows end, and the next flow starts it again. */
  private forget(relay: Relay): void {
    relay.published = null;
    relay.port = null;
    this.placement = null;
    clearInterval(relay.check);
    for (const forwarder of relay.forwarders) forwarder.endFlows();
  }

  private publishedPort(nodePort: number, relay: Relay): Promise<PublishedPort> {
    if (relay.released) return Promise.reject(new Error(`the UDP relay for node port ${nodePort} is closed`));
    if (!relay.published && performance.now() < relay.retryAt)
      return Promise.reject(new Error(`the UDP relay for node port ${nodePort} failed to start; trying again soon`));
    const published = (relay.published ??= this.limited(() => this.start(nodePort)).then(
      (p) => {
        relay.made = true;
        relay.failures = 0;
        if (relay.published === published) {
          relay.port = p.port;
          this.watch(nodePort, relay, p.port);
        }
        return p;
      },
      (error: Error) => {
        relay.failures++;
        relay.retryAt = performance.now() + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (relay.failures - 1));
        if (relay.published === published) relay.published = null;
        throw error;
      },
    ));
    return published;
  }

  /**
   * Looks at the relay's container every few seconds: one that is gone frees its published port, which another local
   * program could then take and answer from; its flows end at once instead of waiting for an ICMP error.
   */
  private watch(nodePort: number, relay: Relay, port: number): void {
    clearInterval(relay.check);
    relay.check = setInterval(() => {
      void this.containers.relayPort(relayName(this.profile, nodePort), nodePort).then(
        (now) => {
          if (relay.port === port && now?.port !== port) this.forget(relay);
        },
        () => undefined,
      );
    }, this.checkMs);
    relay.check.unref();
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    while (this.starting >= STARTS_AT_ONCE) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.starting++;
    try {
      return await task();
    } finally {
      this.starting--;
      this.waiting.shift()?.();
    }
  }

  private async start(nodePort: number): Promise<PublishedPort> {
    this.placement ??= this.containers.nodePlacement(this.profile).then((p) => {
      if (!p) throw new Error(`the node's container "${this.profile}" is not running, or has no address on a network`);
      return p;
    });
    const placement = await this.placement.catch((error: Error) => {
      this.placement = null;
      throw error;
    });
    const name = relayName(this.profile, nodePort);
    // One of ours under this name (left by a killed tunnel, or stopped) is replaced, never reused blind; a container
    // of that name without our label is someone else's, and `run` refuses the name.
    if ((await this.containers.udpRelays(this.profile)).includes(name)) await this.containers.remove([name]);
    const idleSeconds = Math.max(1, Math.round(this.idleMs / 1000));
    const published = await this.containers.startUdpRelay({
      name,
      profile: this.profile,
      placement,
      nodePort,
      idleSeconds,
    });
    this.log(`UDP relay ${name} for node port ${nodePort} on ${published.host}:${published.port}`);
    return published;
  }

  private retire(relay: Relay): void {
    relay.released = true;
    clearInterval(relay.check);
  }

  private async release(nodePort: number, relay: Relay): Promise<void> {
    relay.users--;
    if (relay.users > 0 || this.relays.get(nodePort) !== relay) return;
    this.relays.delete(nodePort);
    this.retire(relay);
    await relay.published?.catch(() => undefined);
    if (!relay.made) return;
    await this.containers
      .remove([relayName(this.profile, nodePort)])
      .catch((error: Error) => this.log(`could not remove the UDP relay for node port ${nodePort}: ${error.message}`));
  }
}
