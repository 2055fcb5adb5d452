import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LinkStatus } from "../cluster-access.js";
import {
  type LinkTarget,
  LinkRefused,
  LinkUnavailable,
  ReconnectingLink,
  type SshLinkOptions,
} from "./reconnecting-link.js";

// ReconnectingLink's state and backoff, with a subclass whose dial answers from a script and
// vitest's fake timers standing in for the backoff's clock: no sockets, no real waiting.

const target = (port: number): LinkTarget => ({
  host: "127.0.0.1",
  port,
  username: "docker",
  privateKey: Buffer.from("key"),
  hostKeys: [],
});

/**
 * Dials nothing: each dial takes the next scripted outcome ("up" marks the link up, as the real clients do before
 * answering).
 */
class ScriptedLink extends ReconnectingLink {
  readonly dials: LinkTarget[] = [];
  readonly states: LinkStatus[] = [];
  readonly logs: string[] = [];

  constructor(
    private readonly outcomes: ("up" | Error)[],
    resolve: () => Promise<LinkTarget>,
    options: SshLinkOptions = {},
  ) {
    super(resolve, options);
    this.on("state", (s: LinkStatus) => this.states.push(s));
    this.on("log", (line: string) => this.logs.push(line));
  }

  protected async dial(t: LinkTarget): Promise<"up" | Error> {
    this.dials.push(t);
    const outcome = this.outcomes.shift() ?? new Error("script ran out");
    if (outcome === "up") this.markUp("");
    return outcome;
  }

  /** As the real clients reconnect: no retry pending, then a connect now. */
  reconnect(): Promise<void> {
    this.cancelRetry();
    return this.connect();
  }

  /** What a subclass does when its connection goes away after it was up. */
  drop(why: string): void {
    this.dropped(why);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRetry();
    this.setState("down");
  }
}

const resolveTo = (port: number) => async () => target(port);

/** Runs the clock just short of `ms`, then to it: the next dial must come exactly then, not before. */
async function expectDialAfter(link: ScriptedLink, ms: number): Promise<void> {
  const before = link.dials.length;
  if (ms > 0) await vi.advanceTimersByTimeAsync(ms - 1);
  expect(link.dials.length, `no dial before ${ms} ms`).toBe(before);
  await vi.advanceTimersByTimeAsync(ms > 0 ? 1 : 0);
  expect(link.dials.length, `a dial at ${ms} ms`).toBe(before + 1);
}

describe("ReconnectingLink", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("connecting, then up: one state event per change, the endpoint from the target", async () => {
    const link = new ScriptedLink(["up"], resolveTo(32772));
    expect(link.status()).toEqual({ state: "connecting", endpoint: null });
    await link.start();
    expect(link.states).toEqual([
      { state: "connecting", endpoint: null },
      { state: "up", endpoint: "127.0.0.1:32772" },
    ]);
    expect(link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(link.logs).toEqual(["SSH link to the node at 127.0.0.1:32772 is up"]);
    // Nothing is pending once up.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a failure is reconnecting with the error; retries after 250, 500, 1000 ms …, capped at maxBackoffMs", async () => {
    const failures = Array.from({ length: 6 }, () => new Error("connect ECONNREFUSED 127.0.0.1:32772"));
    const link = new ScriptedLink([...failures, "up"], resolveTo(32772), { maxBackoffMs: 2000 });
    await link.start();
    expect(link.status()).toEqual({
      state: "reconnecting",
      endpoint: "127.0.0.1:32772",
      error: "connect ECONNREFUSED 127.0.0.1:32772",
    });
    for (const delay of [250, 500, 1000, 2000, 2000]) await expectDialAfter(link, delay);
    expect(link.status().state).toBe("reconnecting");
    // The same failure again and again is one event, not one per attempt.
    expect(link.states.map((s) => s.state)).toEqual(["connecting", "reconnecting"]);
    await expectDialAfter(link, 2000);
    expect(link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(link.states.map((s) => s.state)).toEqual(["connecting", "reconnecting", "up"]);
  });

  it("the default backoff starts at 250 ms and stops growing at 5 s; minBackoffMs moves the start", async () => {
    const link = new ScriptedLink(
      Array.from({ length: 8 }, () => new Error("refused")),
      resolveTo(1),
    );
    await link.start();
    for (const delay of [250, 500, 1000, 2000, 4000, 5000, 5000]) await expectDialAfter(link, delay);
    await link.close();

    const quick = new ScriptedLink([new Error("a"), new Error("b")], resolveTo(1), { minBackoffMs: 10 });
    await quick.start();
    await expectDialAfter(quick, 10);
    await expectDialAfter(quick, 20);
    await quick.close();
  });

  it("a new error while reconnecting is a new state event with that error", async () => {
    const link = new ScriptedLink([new Error("first"), new Error("second")], resolveTo(1));
    await link.start();
    await vi.advanceTimersByTimeAsync(250);
    expect(link.states.map((s) => s.error)).toEqual([undefined, "first", "second"]);
    await link.close();
  });

  it("a target that says the node is down sets waitingForNode, until a target resolves again", async () => {
    let nodeRunning = false;
    const link = new ScriptedLink(["up"], async () => {
      if (!nodeRunning) throw new LinkUnavailable('the node\'s container "p" is not running', true);
      return target(40001);
    });
    await link.start();
    expect(link.waitingForNode).toBe(true);
    expect(link.status()).toEqual({
      state: "reconnecting",
      endpoint: null,
      error: 'the node\'s container "p" is not running',
    });
    expect(link.dials).toEqual([]);
    nodeRunning = true;
    await vi.advanceTimersByTimeAsync(250);
    expect(link.waitingForNode).toBe(false);
    expect(link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:40001" });
  });

  it("LinkUnavailable that is not the node being down (a key it cannot read) is not waitingForNode", async () => {
    const link = new ScriptedLink([], async () =>
      Promise.reject(new LinkUnavailable("cannot read the node's login key", false)),
    );
    await link.start();
    expect(link.waitingForNode).toBe(false);
    expect(link.status()).toMatchObject({ state: "reconnecting", error: "cannot read the node's login key" });
    await link.close();
  });

  it("LinkRefused is the refused state, with its reason, logged as is", async () => {
    const why = "host key mismatch: 127.0.0.1:32772 presented SHA256:abc, which is not the node's key";
    const link = new ScriptedLink([new LinkRefused(why)], resolveTo(32772));
    await link.start();
    expect(link.status()).toEqual({ state: "refused", endpoint: "127.0.0.1:32772", error: why });
    expect(link.states.at(-1)).toEqual({ state: "refused", endpoint: "127.0.0.1:32772", error: why });
    expect(link.logs).toContain(why);
    await link.close();
  });

  it("a refused link does not dial again by itself: the same target stays refused, one state event, no flapping", async () => {
    let resolves = 0;
    const link = new ScriptedLink(
      [new LinkRefused("host key mismatch"), new LinkRefused("host key mismatch")],
      async () => (resolves++, target(32772)),
    );
    await link.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(link.dials).toHaveLength(1);
    expect(link.states.map((s) => s.state)).toEqual(["connecting", "refused"]);
    // It still reads the target, on the backoff's ceiling, to notice a node that changed.
    expect(resolves).toBe(1 + 60_000 / 5000);
    await link.close();
  });

  it("a refused link dials again when the target moves to another port, at the backoff's ceiling", async () => {
    let port = 32772;
    const link = new ScriptedLink([new LinkRefused("host key mismatch"), "up"], async () => target(port), {
      maxBackoffMs: 2000,
    });
    await link.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(link.dials).toHaveLength(1);
    port = 32790;
    // The look that sees the new port comes at a multiple of 2000 ms after the refusal; then the dial reads the target
    // again.
    await vi.advanceTimersByTimeAsync(2000);
    expect(link.dials.map((d) => d.port)).toEqual([32772, 32790]);
    expect(link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:32790" });
    expect(link.states.map((s) => s.state)).toEqual(["connecting", "refused", "reconnecting", "up"]);
    expect(link.logs).toContain("the node's SSH port or host keys changed since the refusal: connecting again");
  });

  it("a refused link dials again when the node's pinned keys change (a node made anew), not when only their order does", async () => {
    const a = { algorithm: "ssh-ed25519", blob: Buffer.from("key a") };
    const b = { algorithm: "ssh-rsa", blob: Buffer.from("key b") };
    let keys = [a, b];
    const link = new ScriptedLink([new LinkRefused("host key mismatch"), "up"], async () => ({
      ...target(32772),
      hostKeys: keys,
    }));
    await link.start();
    keys = [b, a];
    await vi.advanceTimersByTimeAsync(20_000);
    expect(link.dials).toHaveLength(1);
    keys = [{ algorithm: "ssh-ed25519", blob: Buffer.from("key c") }];
    await vi.advanceTimersByTimeAsync(5000);
    expect(link.dials).toHaveLength(2);
    expect(link.status().state).toBe("up");
  });

  it("a refused link whose node cannot be read stays refused, with no new state, and dials once the target changes", async () => {
    let node: "same" | "gone" | "moved" = "same";
    const link = new ScriptedLink([new LinkRefused("host key mismatch"), "up"], async () => {
      if (node === "gone") throw new LinkUnavailable('the node\'s container "p" is not running', true);
      return target(node === "same" ? 32772 : 32790);
    });
    await link.start();
    node = "gone";
    await vi.advanceTimersByTimeAsync(30_000);
    expect(link.states.map((s) => s.state)).toEqual(["connecting", "refused"]);
    expect(link.waitingForNode).toBe(false);
    node = "moved";
    await vi.advanceTimersByTimeAsync(5000);
    expect(link.dials.map((d) => d.port)).toEqual([32772, 32790]);
    expect(link.status().state).toBe("up");
  });

  it("reconnect() on a refused link dials at once, and the pending look at the target is dropped", async () => {
    let resolves = 0;
    const link = new ScriptedLink(
      [new LinkRefused("host key mismatch"), "up"],
      async () => (resolves++, target(32772)),
    );
    await link.start();
    await link.reconnect();
    expect(link.dials).toHaveLength(2);
    expect(link.status().state).toBe("up");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(resolves).toBe(2);
  });

  it("close() on a refused link stops looking at the target", async () => {
    let resolves = 0;
    const link = new ScriptedLink([new LinkRefused("host key mismatch")], async () => (resolves++, target(32772)));
    await link.start();
    await link.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(resolves).toBe(1);
    expect(link.status().state).toBe("down");
  });

  it("dropped after up reconnects at once; a second failure in a row waits the first backoff", async () => {
    const link = new ScriptedLink(["up", new Error("connect ECONNREFUSED"), "up"], resolveTo(32772));
    await link.start();
    link.drop("the connection dropped");
    expect(link.status()).toEqual({
      state: "reconnecting",
      endpoint: "127.0.0.1:32772",
      error: "the connection dropped",
    });
    expect(link.logs).toContain("SSH link to 127.0.0.1:32772 dropped; connecting again");
    await expectDialAfter(link, 0);
    expect(link.status().error).toBe("connect ECONNREFUSED");
    await expectDialAfter(link, 500);
    expect(link.status().state).toBe("up");
    expect(link.states.map((s) => s.state)).toEqual(["connecting", "up", "reconnecting", "reconnecting", "up"]);
  });

  it("the node restarted on a new port: the target is resolved again, and the new endpoint is in status()", async () => {
    let port = 32772;
    const link = new ScriptedLink(["up", "up"], async () => target(port));
    await link.start();
    expect(link.status().endpoint).toBe("127.0.0.1:32772");
    port = 32790;
    link.drop("the connection dropped");
    await vi.advanceTimersByTimeAsync(0);
    expect(link.dials.map((d) => d.port)).toEqual([32772, 32790]);
    expect(link.status()).toEqual({ state: "up", endpoint: "127.0.0.1:32790" });
    expect(link.states.at(-1)).toEqual({ state: "up", endpoint: "127.0.0.1:32790" });
  });

  it("an IPv6 host is written in brackets in the endpoint", async () => {
    const link = new ScriptedLink(["up"], async () => ({ ...target(22), host: "::1" }));
    await link.start();
    expect(link.status().endpoint).toBe("[::1]:22");
  });

  it("closing stops retries: a pending retry never dials, and a drop after close does nothing", async () => {
    const link = new ScriptedLink([new Error("refused")], resolveTo(1));
    await link.start();
    expect(vi.getTimerCount()).toBe(1);
    await link.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(link.dials).toHaveLength(1);
    expect(link.status()).toMatchObject({ state: "down" });
    link.drop("late event from the old connection");
    expect(vi.getTimerCount()).toBe(0);
    expect(link.status().state).toBe("down");
  });

  it("a close while the target resolves ends the attempt without dialing", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const link = new ScriptedLink(["up"], async () => (await gate, target(1)));
    const attempt = link.start();
    await link.close();
    release();
    await attempt;
    expect(link.dials).toEqual([]);
    expect(link.status().state).toBe("down");
  });
});
