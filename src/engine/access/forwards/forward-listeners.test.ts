import { describe, expect, it } from "vitest";
import { FakeCarrier, FakeLoopback, FakeUdpCarrier } from "../../../../test-support/fake-forward-carrier.js";
import { ForwardListeners, type ForwardSpec } from "./forward-listeners.js";

// ForwardListeners' state machine with a carrier that opens no sockets and a recorder for root's part:
// no root, no link, no namespaces (the integration tests cover the real carriers).

const spec = (name: string, address: string, port: number, extra: Partial<ForwardSpec> = {}): ForwardSpec => ({
  namespace: "default",
  name,
  address,
  port,
  protocol: "TCP",
  targetHost: "10.96.0.9",
  targetPort: port,
  ...extra,
});

function setup(options: { fixedTarget?: boolean; helper?: boolean; needsAlias?: boolean } = {}) {
  const carrier = new FakeCarrier(options.fixedTarget ?? false);
  const root = new FakeLoopback();
  const log: string[] = [];
  const listeners = new ForwardListeners(
    carrier,
    () => (options.helper === false ? null : root),
    (line) => log.push(line),
    options.needsAlias ?? false,
  );
  const state = () =>
    Object.fromEntries(listeners.statuses().map((s) => [`${s.address}:${s.port}/${s.protocol}`, s.state]));
  return { carrier, root, log, listeners, state };
}

describe("ForwardListeners: opening", () => {
  it("each TCP port listens on its address, with a target read from the spec", async () => {
    const { carrier, listeners, state, root } = setup();
    expect(await listeners.apply([spec("web", "127.70.0.1", 80), spec("web", "127.70.0.1", 8443)])).toBe(true);
    expect(carrier.asked().sort()).toEqual(["127.70.0.1:80", "127.70.0.1:8443"]);
    expect(carrier.listens[0]!.target()).toEqual({ host: "10.96.0.9", port: carrier.listens[0]!.port });
    expect(state()).toEqual({ "127.70.0.1:80/TCP": "listening", "127.70.0.1:8443/TCP": "listening" });
    expect(listeners.statuses()[0]).toEqual({
      namespace: "default",
      name: "web",
      address: "127.70.0.1",
      port: 80,
      protocol: "TCP",
      target: "10.96.0.9:80",
      state: "listening",
    });
    // Nothing needed root: ports were free and the platform needs no alias.
    expect(root.calls).toEqual([]);
  });

  it("attack: a Service on a system service's port (53, 631…) is not forwarded by anyone, root in process included; its other ports are", async () => {
    const { carrier, listeners, state, root } = setup();
    await listeners.apply([spec("dns", "127.70.0.3", 53), spec("dns", "127.70.0.3", 8053)]);
    expect(carrier.asked()).toEqual(["127.70.0.3:8053"]);
    expect(root.calls).toEqual([]);
    expect(state()).toEqual({ "127.70.0.3:53/TCP": "error", "127.70.0.3:8053/TCP": "listening" });
    expect(listeners.statuses().find((s) => s.port === 53)?.error).toMatch(
      /^not forwarded: port 53 \(DNS\) is a system service's port/,
    );
  });

  it("a UDP port is udp-not-forwarded until a UDP carrier is there, never asked of the SSH carrier; then it listens", async () => {
    const { carrier, listeners, state } = setup();
    const specs = [
      spec("dns", "127.70.0.2", 5300, { protocol: "UDP", nodePort: 30053 }),
      spec("dns", "127.70.0.2", 5353),
    ];
    await listeners.apply(specs);
    expect(carrier.asked()).toEqual(["127.70.0.2:5353"]);
    const udp = listeners.statuses().find((s) => s.protocol === "UDP")!;
    expect(udp.state).toBe("udp-not-forwarded");
    expect(udp.error).toMatch(/relays beside the node start once this tunnel holds the profile/);
    const relays = new FakeUdpCarrier();
    listeners.udp = relays;
    expect(await listeners.apply(specs)).toBe(true);
    expect(relays.listens).toEqual(["127.70.0.2:5300 -> node port 30053"]);
    expect(carrier.asked()).toEqual(["127.70.0.2:5353"]);
    expect(state()).toEqual({ "127.70.0.2:5300/UDP": "listening", "127.70.0.2:5353/TCP": "listening" });
    await listeners.closeAll();
    expect(relays.closed).toEqual(["127.70.0.2:5300"]);
  });

  it("SCTP, and UDP of a Service without node ports, are udp-not-forwarded, saying why; a low UDP port without root is an error", async () => {
    const { listeners } = setup();
    const relays = new FakeUdpCarrier();
    relays.failures.set("127.70.0.2:500", "EACCES");
    listeners.udp = relays;
    await listeners.apply([
      spec("sig", "127.70.0.2", 3868, { protocol: "SCTP", nodePort: 30868 }),
      spec("dns", "127.70.0.2", 5300, { protocol: "UDP" }),
      spec("ike", "127.70.0.2", 500, { protocol: "UDP", nodePort: 30500 }),
    ]);
    const by = (name: string) => listeners.statuses().find((s) => s.name === name)!;
    expect(by("sig")).toMatchObject({
      state: "udp-not-forwarded",
      error: "SCTP is not forwarded; TCP and UDP ports are",
    });
    expect(by("dns")).toMatchObject({ state: "udp-not-forwarded", error: expect.stringMatching(/has none/) });
    // The helper relays TCP only; a UDP relay as root is not something root does for a user.
    expect(by("ike")).toMatchObject({ state: "error", error: expect.stringMatching(/^UDP port 500 is below 1024/) });
    expect(relays.listens).toEqual(["127.70.0.2:500 -> node port 30500"]);
  });

  it("a port in use is port-in-use, logged once, and does not keep the other ports from listening", async () => {
    const { carrier, listeners, state, log } = setup();
    carrier.failures.set("127.70.0.1:80", "EADDRINUSE");
    const specs = [spec("web", "127.70.0.1", 80), spec("api", "127.70.0.2", 80)];
    expect(await listeners.apply(specs)).toBe(true);
    expect(state()).toEqual({ "127.70.0.1:80/TCP": "port-in-use", "127.70.0.2:80/TCP": "listening" });
    expect(listeners.statuses().find((s) => s.name === "web")!.error).toBe(
      "127.70.0.1:80 is in use by another program",
    );
    expect(log).toEqual([expect.stringMatching(/^default\/web: cannot listen on 127\.70\.0\.1:80: .*in use/)]);
    // Applying the same set retries the busy port; still busy is no change, and not logged again.
    expect(await listeners.apply(specs)).toBe(false);
    expect(log).toHaveLength(1);
    // Freed by its owner: the next pass listens.
    carrier.failures.clear();
    expect(await listeners.apply(specs)).toBe(true);
    expect(state()["127.70.0.1:80/TCP"]).toBe("listening");
  });

  it("EACCES below 1024: we listen on a free port of the same address and the helper relays the real port to it", async () => {
    const { carrier, listeners, root, state } = setup();
    carrier.failures.set("127.70.0.1:80", "EACCES");
    expect(await listeners.apply([spec("web", "127.70.0.1", 80)])).toBe(true);
    expect(carrier.asked()).toEqual(["127.70.0.1:80", "127.70.0.1:0"]);
    const chosen = 40_001;
    expect(root.calls).toEqual([`relay 127.70.0.1:80 -> ${chosen}`]);
    expect(state()).toEqual({ "127.70.0.1:80/TCP": "listening" });
    // The listener on the free port still goes to the Service's target, not to its own port.
    expect(carrier.listens[1]!.target()).toEqual({ host: "10.96.0.9", port: 80 });
  });

  it("EACCES at 1024 and above is an error: root is not asked for ports a user may bind", async () => {
    const { carrier, listeners, root } = setup();
    carrier.failures.set("127.70.0.1:8080", "EACCES");
    await listeners.apply([spec("web", "127.70.0.1", 8080)]);
    expect(carrier.asked()).toEqual(["127.70.0.1:8080"]);
    expect(root.calls).toEqual([]);
    expect(listeners.statuses()[0]).toMatchObject({ state: "error", error: expect.stringMatching(/EACCES/) });
  });

  it("EACCES below 1024 with no helper: an error that names the missing helper", async () => {
    const { carrier, listeners } = setup({ helper: false });
    carrier.failures.set("127.70.0.1:443", "EACCES");
    await listeners.apply([spec("web", "127.70.0.1", 443)]);
    expect(listeners.statuses()[0]).toMatchObject({
      state: "error",
      error: "port 443 needs root, and no privileged helper is available",
    });
  });
});

describe("ForwardListeners: following the wanted set", () => {
  it("a removed spec closes its listener; a relayed one is also unrelayed", async () => {
    const { carrier, listeners, root } = setup();
    carrier.failures.set("127.70.0.1:80", "EACCES");
    await listeners.apply([spec("web", "127.70.0.1", 80), spec("api", "127.70.0.2", 8080)]);
    expect(await listeners.apply([spec("api", "127.70.0.2", 8080)])).toBe(true);
    expect(carrier.closed).toEqual(["127.70.0.1:40001"]);
    expect(root.calls).toEqual(["relay 127.70.0.1:80 -> 40001", "unrelay 127.70.0.1:80"]);
    expect(listeners.statuses().map((s) => s.name)).toEqual(["api"]);
    expect(await listeners.apply([])).toBe(true);
    expect(carrier.closed).toEqual(["127.70.0.1:40001", "127.70.0.2:8080"]);
    // The plain listener had no relay: nothing more asked of root.
    expect(root.calls).toHaveLength(2);
  });

  it("a new target with a fixed-target carrier (OpenSSH) closes the listener and opens a new one", async () => {
    const { carrier, listeners } = setup({ fixedTarget: true });
    await listeners.apply([spec("web", "127.70.0.1", 80)]);
    expect(await listeners.apply([spec("web", "127.70.0.1", 80, { targetHost: "10.96.0.77" })])).toBe(true);
    expect(carrier.closed).toEqual(["127.70.0.1:80"]);
    expect(carrier.asked()).toEqual(["127.70.0.1:80", "127.70.0.1:80"]);
    expect(carrier.listens[1]!.target()).toEqual({ host: "10.96.0.77", port: 80 });
    expect(listeners.statuses()[0]).toMatchObject({ state: "listening", target: "10.96.0.77:80" });
  });

  it("a new target with a per-connection carrier (ssh2) keeps the listener, whose target now reads the new one", async () => {
    const { carrier, listeners } = setup({ fixedTarget: false });
    await listeners.apply([spec("web", "127.70.0.1", 80)]);
    // Changed (the status shows the target) although no listener was touched.
    expect(await listeners.apply([spec("web", "127.70.0.1", 80, { targetHost: "10.96.0.77", targetPort: 8080 })])).toBe(
      true,
    );
    expect(carrier.closed).toEqual([]);
    expect(carrier.listens).toHaveLength(1);
    expect(carrier.listens[0]!.target()).toEqual({ host: "10.96.0.77", port: 8080 });
    expect(listeners.statuses()[0]!.target).toBe("10.96.0.77:8080");
  });

  it("apply is true only when a state changed: the same set again is false, a renamed Service is true", async () => {
    const { listeners } = setup();
    const specs = [spec("web", "127.70.0.1", 80)];
    expect(await listeners.apply(specs)).toBe(true);
    expect(await listeners.apply(specs)).toBe(false);
    expect(await listeners.apply([spec("web2", "127.70.0.1", 80)])).toBe(true);
    expect(await listeners.apply([])).toBe(true);
    expect(await listeners.apply([])).toBe(false);
  });

  it("closeAll closes every listener, unrelays the relayed ones, and forgets them", async () => {
    const { carrier, listeners, root } = setup();
    carrier.failures.set("127.70.0.1:80", "EACCES");
    await listeners.apply([
      spec("web", "127.70.0.1", 80),
      spec("api", "127.70.0.2", 8080),
      spec("dns", "127.70.0.3", 53, { protocol: "UDP" }),
    ]);
    await listeners.closeAll();
    expect(carrier.closed.sort()).toEqual(["127.70.0.1:40001", "127.70.0.2:8080"]);
    expect(root.calls).toEqual(["relay 127.70.0.1:80 -> 40001", "unrelay 127.70.0.1:80"]);
    expect(listeners.statuses()).toEqual([]);
  });

  it("statuses are sorted by namespace, then name, then port", async () => {
    const { listeners } = setup();
    await listeners.apply([
      spec("web", "127.70.0.1", 8080, { namespace: "shop" }),
      spec("web", "127.70.0.1", 80, { namespace: "shop" }),
      spec("api", "127.70.0.2", 80, { namespace: "shop" }),
      spec("zeta", "127.70.0.3", 80, { namespace: "default" }),
    ]);
    expect(listeners.statuses().map((s) => `${s.namespace}/${s.name}:${s.port}`)).toEqual([
      "default/zeta:80",
      "shop/api:80",
      "shop/web:80",
      "shop/web:8080",
    ]);
  });
});

describe("ForwardListeners: loopback aliases (macOS)", () => {
  it("one alias per address, none for 127.0.0.1, taken down when no spec uses the address", async () => {
    const { listeners, root } = setup({ needsAlias: true });
    await listeners.apply([
      spec("web", "127.70.0.1", 8080),
      spec("api", "127.70.0.2", 8080),
      spec("local", "127.0.0.1", 9000),
    ]);
    expect(root.calls.sort()).toEqual(["alias 127.70.0.1 up", "alias 127.70.0.2 up"]);
    // A port added on an address that has its alias asks for none again.
    await listeners.apply([
      spec("web", "127.70.0.1", 8080),
      spec("web", "127.70.0.1", 8443),
      spec("web", "127.70.0.1", 9443),
      spec("api", "127.70.0.2", 8080),
    ]);
    expect(root.calls).toHaveLength(2);
    // One port of 127.70.0.1 goes: the address is still used, its alias stays; 127.70.0.2 is unused now.
    await listeners.apply([spec("web", "127.70.0.1", 8080)]);
    expect(root.calls.slice(2)).toEqual(["alias 127.70.0.2 down"]);
    await listeners.closeAll();
    expect(root.calls.slice(3)).toEqual(["alias 127.70.0.1 down"]);
  });

  it("the ports of a new address open together and ask root for its alias once", async () => {
    const { listeners, root, state } = setup({ needsAlias: true });
    await listeners.apply([
      spec("web", "127.70.0.1", 8080),
      spec("web", "127.70.0.1", 8443),
      spec("web", "127.70.0.1", 9443),
      spec("api", "127.70.0.2", 8080),
    ]);
    expect(root.calls.sort()).toEqual(["alias 127.70.0.1 up", "alias 127.70.0.2 up"]);
    expect(Object.values(state())).toEqual(["listening", "listening", "listening", "listening"]);
  });

  it("an alias root refuses fails every port of its address, each saying why; the next pass asks once again", async () => {
    const { carrier, listeners, root, state, log } = setup({ needsAlias: true });
    root.aliasFailures.set("127.70.0.1", "ifconfig: permission denied");
    const specs = [spec("web", "127.70.0.1", 8080), spec("web", "127.70.0.1", 8443)];
    await listeners.apply(specs);
    expect(root.calls).toEqual(["alias 127.70.0.1 up"]);
    expect(carrier.listens).toEqual([]);
    expect(listeners.statuses().map((s) => [s.state, s.error])).toEqual([
      ["error", "ifconfig: permission denied"],
      ["error", "ifconfig: permission denied"],
    ]);
    expect(log).toHaveLength(2);
    root.aliasFailures.clear();
    await listeners.apply(specs);
    expect(root.calls).toEqual(["alias 127.70.0.1 up", "alias 127.70.0.1 up"]);
    expect(state()).toEqual({ "127.70.0.1:8080/TCP": "listening", "127.70.0.1:8443/TCP": "listening" });
  });

  it("an address that needs an alias with no helper is an error naming it, and nothing listens there", async () => {
    const { carrier, listeners } = setup({ needsAlias: true, helper: false });
    await listeners.apply([spec("web", "127.70.0.1", 8080)]);
    expect(carrier.listens).toEqual([]);
    expect(listeners.statuses()[0]).toMatchObject({
      state: "error",
      error: "127.70.0.1 needs a loopback alias, and no privileged helper is available",
    });
  });
});
