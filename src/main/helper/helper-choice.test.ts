import { describe, expect, it } from "vitest";
import type { HelperClient } from "../../engine/elevation/helper-client.js";
import { type HelperPreference, helperOnVersionMismatch, helperWhenNoneAnswers } from "./helper-choice.js";

function deps(start: HelperPreference, answer: "install" | "each-time", installedAfter = 0) {
  const calls: string[] = [];
  let preference = start;
  let looks = 0;
  const installed = { kind: "installed" } as unknown as HelperClient;
  const session = { kind: "per-session" } as unknown as HelperClient;
  return {
    calls,
    preference: () => preference,
    d: {
      preference: () => preference,
      setPreference: (p: HelperPreference) => void ((preference = p), calls.push(`prefer ${p}`)),
      ask: async () => (calls.push("ask"), answer),
      install: async () => void calls.push("install"),
      connectInstalled: async () => (looks++ >= installedAfter ? installed : null),
      perSession: async () => (calls.push("per-session"), session),
      pause: async () => undefined,
    },
    installed,
    session,
  };
}

describe("the first Start that needs root, with no installed helper", () => {
  it("asks once; installing uses the helper as soon as its service answers, and is remembered", async () => {
    const t = deps("ask", "install", 3);
    expect(await helperWhenNoneAnswers(t.d)).toBe(t.installed);
    expect(t.calls).toEqual(["ask", "install", "prefer installed"]);
  });

  it("asks once; 'each time' is remembered, and the per-session helper asks for the password", async () => {
    const t = deps("ask", "each-time");
    expect(await helperWhenNoneAnswers(t.d)).toBe(t.session);
    expect(await helperWhenNoneAnswers(t.d)).toBe(t.session);
    expect(t.calls).toEqual(["ask", "prefer each-time", "per-session", "per-session"]);
  });

  it("once answered, it does not ask again", async () => {
    const t = deps("each-time", "install");
    await helperWhenNoneAnswers(t.d);
    expect(t.calls).toEqual(["per-session"]);
  });
});

describe("an installed helper of another version", () => {
  function upgradeDeps(answer: "upgrade" | "later") {
    const calls: string[] = [];
    let declined: string | null = null;
    const installed = { kind: "installed" } as unknown as HelperClient;
    const session = { kind: "per-session" } as unknown as HelperClient;
    let upgraded = false;
    return {
      calls,
      installed,
      session,
      d: {
        declined: () => declined,
        setDeclined: (m: string) => void ((declined = m), calls.push(`declined ${m}`)),
        askUpgrade: async (v: string) => (calls.push(`ask ${v}`), answer),
        install: async () => void ((upgraded = true), calls.push("install")),
        // Before the upgrade the old helper answers with its version, which the app refuses (null here).
        connectInstalled: async () => (upgraded ? installed : null),
        perSession: async () => (calls.push("per-session"), session),
        pause: async () => undefined,
      },
    };
  }

  it("offers the upgrade; accepting installs again and uses the upgraded helper", async () => {
    const t = upgradeDeps("upgrade");
    expect(await helperOnVersionMismatch(t.d, "0.0.9", "0.1.0")).toBe(t.installed);
    expect(t.calls).toEqual(["ask 0.0.9", "install"]);
  });

  it("'not now' falls back to a password per session, and is not asked again for the same versions; a newer app asks again", async () => {
    const t = upgradeDeps("later");
    expect(await helperOnVersionMismatch(t.d, "0.0.9", "0.1.0")).toBe(t.session);
    expect(await helperOnVersionMismatch(t.d, "0.0.9", "0.1.0")).toBe(t.session);
    expect(t.calls).toEqual(["ask 0.0.9", "declined 0.0.9>0.1.0", "per-session", "per-session"]);
    await helperOnVersionMismatch(t.d, "0.0.9", "0.2.0");
    expect(t.calls.slice(4)).toEqual(["ask 0.0.9", "declined 0.0.9>0.2.0", "per-session"]);
  });
});
