import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { eventually } from "../../../../test-support/eventually.js";
import { PROFILE, cleanup, held, service, settle, setup, view } from "../../../../test-support/forward-access-setup.js";
import { tunnelLockPath } from "../../registry/tunnel-lock.js";
import { fileAccessFor } from "../../root/index.js";
import { tryLockFile } from "../../system/file-lock.js";

// ForwardAccess and minikube's tunnel lock, a real file in a temporary MINIPATH (the rest faked:
// test-support/forward-access-setup.ts).

afterEach(cleanup);

describe("ForwardAccess: minikube's tunnel lock", () => {
  it("held while it runs, with the link's state noted in it for status from another process", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true });
    await access.start();
    expect(link.calls).toEqual(["start"]);
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    const lockFile = tunnelLockPath(miniPath, PROFILE);
    await eventually(
      async () => (await readFile(lockFile, "utf8")).includes('link {"state":"up","endpoint":"127.0.0.1:32772"}'),
      { what: "the link noted in the lock" },
    );
    expect(await readFile(lockFile, "utf8")).toMatch(new RegExp(`^minikube-tunnel pid=${process.pid}\\b`));
    expect(await tryLockFile(lockFile, await fileAccessFor(miniPath))).toBeNull();
  });

  it("a lock someone else holds is phase blocked: the link is not started; a stop ends the lock's poll", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true });
    // Held without our marker: as `minikube tunnel` holds it.
    held.push((await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!);
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    await access.start();
    expect(link.calls).toEqual([]);
    expect(access.snapshot()).toMatchObject({
      phase: "blocked",
      message: "`minikube tunnel` is running for this profile; this tunnel waits and forwards nothing",
    });
    // Link events while blocked change nothing.
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(access.snapshot().phase).toBe("blocked");
    expect(vi.getTimerCount()).toBe(1);
    await access.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("recheck after the holder let go takes the lock and starts the link", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    await access.start();
    await access.recheck();
    expect(link.calls).toEqual([]);
    await lock.release();
    await access.recheck();
    expect(link.calls).toEqual(["start"]);
  });

  it("after taking over the lock, the link's states are the phase again, and the link is noted in the lock", async () => {
    const { access, link, miniPath, changes } = await setup({ realLocks: true });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    await access.start();
    await lock.release();
    await access.recheck();
    // Before the link says anything, the phase is the link's (connecting: starting), no longer "waits and forwards
    // nothing".
    expect(access.snapshot()).toMatchObject({ phase: "starting", link: { state: "connecting" } });
    expect(access.snapshot().message).toBeUndefined();
    expect(changes.map((c) => c.phase)).toEqual(["blocked", "starting"]);
    const lockFile = tunnelLockPath(miniPath, PROFILE);
    await eventually(
      async () => (await readFile(lockFile, "utf8")).includes('link {"state":"connecting","endpoint":null}'),
      { what: "the link noted in the lock" },
    );
    link.set({ state: "up", endpoint: "127.0.0.1:32772" });
    expect(access.snapshot().phase).toBe("active");
    await eventually(
      async () => (await readFile(lockFile, "utf8")).includes('link {"state":"up","endpoint":"127.0.0.1:32772"}'),
      { what: "the link's new state noted in the lock" },
    );
  });

  it("while blocked, Services open no listener and write no name; taking the lock applies the latest set", async () => {
    const { access, link, carrier, names, miniPath } = await setup({ realLocks: true });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    await access.start();
    access.servicesChanged(view([service("old", "127.70.0.1")]));
    access.servicesChanged(view([service("web", "127.70.0.2")]));
    await settle();
    // `minikube tunnel` holds the profile: its Services are its own to forward and name.
    expect(carrier.listens).toEqual([]);
    expect(names.declared).toEqual([]);
    expect(names.hosts).toEqual([]);
    expect(access.snapshot()).toMatchObject({ phase: "blocked", forwards: [] });
    // A recheck that finds the lock still held changes nothing.
    await access.recheck();
    await settle();
    expect(carrier.listens).toEqual([]);
    expect(names.hosts).toEqual([]);
    await lock.release();
    await access.recheck();
    await eventually(() => access.snapshot().forwards?.length === 1 && access.snapshot().names?.state === "on", {
      what: "the held-back Service forwarded and named",
    });
    expect(carrier.asked()).toEqual(["127.70.0.2:8080"]);
    expect(names.hosts).toEqual([[{ ip: "127.70.0.2", names: ["web.default.svc.cluster.local", "web.default"] }]]);
    expect(link.calls).toEqual(["start"]);
  });

  it("a blocked tunnel tries the lock again on its poll, and takes over by itself once the holder lets go", async () => {
    const { access, link, miniPath } = await setup({ realLocks: true, pollIntervalMs: 2000 });
    const lock = (await tryLockFile(tunnelLockPath(miniPath, PROFILE), await fileAccessFor(miniPath)))!;
    // Only the poll is faked: the lock is a real file, tried with real I/O.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    await access.start();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2000);
    // A recheck joins the poll's try in flight rather than opening the lock file a second time.
    await access.recheck();
    expect(link.calls).toEqual([]);
    expect(access.snapshot().phase).toBe("blocked");
    await lock.release();
    vi.advanceTimersByTime(2000);
    await eventually(() => link.calls.includes("start"), { what: "the link started after the poll took the lock" });
    expect(access.snapshot().phase).toBe("starting");
    // Holding the lock, it polls no more.
    expect(vi.getTimerCount()).toBe(0);
  });
});
