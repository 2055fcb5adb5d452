import { describe, expect, it } from "vitest";
import type { AppState } from "../../shared/app-state.js";
import { DEFAULT_PREFERENCES, type Preferences, preferencesSchema } from "../../shared/preferences.js";
import { PreferencesController } from "../preferences/preferences-controller.js";
import { type AppHandlerDeps, appHandlers, openStateUrl } from "./app-handlers.js";
import { type IpcMainLike, registerIpcHandlers } from "./ipc-handlers.js";

const ours = "app://minikube-tunnel/index.html";

/** One running profile with a Service on an external IP and a mapped Ingress name, as AppModel would show them. */
const state: AppState = {
  error: null,
  busy: false,
  profiles: [
    {
      profile: "minikube",
      running: true,
      phase: "active",
      nodeIp: "192.168.49.2",
      routes: [],
      probe: null,
      services: [
        {
          namespace: "default",
          name: "web",
          ports: [
            { port: 80, protocol: "TCP", name: "http" },
            { port: 5432, protocol: "TCP" },
          ],
          externalIps: [{ ip: "172.30.0.1" }],
          owner: "minikube-tunnel",
        },
      ],
      ingresses: [
        {
          host: "shop.test",
          object: "shop/shop",
          address: "172.30.0.1",
          ports: [{ port: 443, protocol: "https" }],
          mapped: true,
        },
      ],
    },
  ],
};

function harness(options: { picked?: string; helperConfig?: () => Promise<null>; installFails?: boolean } = {}) {
  const calls: string[] = [];
  let saved: Preferences = structuredClone(DEFAULT_PREFERENCES);
  const loginItem: boolean[] = [];
  const preferences = new PreferencesController(
    {
      get: () => structuredClone(saved),
      set: (next) => (saved = preferencesSchema.parse(next)),
    },
    (open) => void loginItem.push(open),
  );
  const deps: AppHandlerDeps = {
    model: {
      state: () => state,
      start: async (profile) => void calls.push(`start ${profile}`),
      stop: async (profile) => void calls.push(`stop ${profile}`),
      cleanup: async () => ({ removed: 0, released: 0, failures: [] }),
      logs: (limit) => [`${limit} lines`],
      restartIfRunning: async (profile) =>
        void calls.push(`restart ${profile} in ${preferences.get().accessModes[profile]}`),
    },
    preferences,
    helper: {
      install: async () => {
        calls.push("install helper");
        if (options.installFails) throw new Error("the password prompt was dismissed");
      },
      config: options.helperConfig ?? (async () => null),
      answers: async () => false,
    },
    dialog: {
      showOpenDialog: async ({ title }) => {
        calls.push(`dialog ${title}`);
        return options.picked ? { canceled: false, filePaths: [options.picked] } : { canceled: true, filePaths: [] };
      },
    },
    copy: (text) => void calls.push(`copy ${text}`),
    openExternal: async (url) => void calls.push(`browser ${url}`),
    quit: () => void calls.push("quit"),
  };
  // Through the real registration, so every answer is also checked against the IPC contract.
  const handlers = new Map<string, Parameters<IpcMainLike["handle"]>[1]>();
  registerIpcHandlers({ handle: (channel, listener) => void handlers.set(channel, listener) }, appHandlers(deps));
  const invoke = async (channel: string, ...args: unknown[]) =>
    handlers.get(channel)!({ senderFrame: { url: ours } }, ...args);
  return { calls, invoke, deps, loginItem, saved: () => saved };
}

describe("main's answers to the window", () => {
  it("a mode chosen in the window is saved before the running tunnel comes back up in it", async () => {
    const h = harness();
    await h.invoke("profile:set-mode", "minikube", "forward");
    expect(h.calls).toEqual(["restart minikube in forward"]);
    expect(h.saved().accessModes).toEqual({ minikube: "forward" });
  });

  it("the window's Preferences keep the minikube binary and put the login item in step", async () => {
    const h = harness({ picked: "/opt/minikube" });
    expect(await h.invoke("prefs:choose-minikube")).toMatchObject({ minikubePath: "/opt/minikube" });
    const next = { ...DEFAULT_PREFERENCES, startAtLogin: true, minikubePath: "/tmp/evil" };
    expect(await h.invoke("prefs:set", next)).toMatchObject({ startAtLogin: true, minikubePath: "/opt/minikube" });
    expect(await h.invoke("prefs:get")).toEqual(h.saved());
    // The dialog's save came first: the login item was told then, and again when the window turned it on.
    expect(h.loginItem).toEqual([false, true]);
  });

  it("a cancelled file dialog changes nothing", async () => {
    const h = harness();
    expect(await h.invoke("prefs:choose-minikube")).toEqual(DEFAULT_PREFERENCES);
    expect(h.calls).toEqual(["dialog Choose the minikube binary"]);
    expect(h.loginItem).toEqual([]);
  });

  it("opens a Service port or a name only at the address our own state gives it", async () => {
    const h = harness();
    await h.invoke("service:open", { profile: "minikube", namespace: "default", name: "web", port: 80 });
    await h.invoke("name:open", { profile: "minikube", host: "shop.test", port: 443 });
    expect(h.calls).toEqual(["browser http://172.30.0.1:80/", "browser https://shop.test/"]);
    await expect(
      h.invoke("service:open", { profile: "minikube", namespace: "default", name: "web", port: 5432 }),
    ).rejects.toThrow("default/web has no http(s) port 5432 with an external IP");
    await expect(
      h.invoke("service:open", { profile: "dev", namespace: "default", name: "web", port: 80 }),
    ).rejects.toThrow(/no http\(s\) port 80/);
    await expect(h.invoke("name:open", { profile: "minikube", host: "evil.test", port: 443 })).rejects.toThrow(
      "evil.test has no http(s) port 443 that resolves on this machine",
    );
    expect(h.calls).toHaveLength(2);
  });

  it("the tray opens only a Service's or a mapped name's address", async () => {
    const h = harness();
    await openStateUrl(h.deps, "http://172.30.0.1:80/");
    await openStateUrl(h.deps, "https://shop.test/");
    await expect(openStateUrl(h.deps, "https://evil.example/login")).rejects.toThrow(/refusing to open/);
    await expect(openStateUrl(h.deps, "file:///etc/passwd")).rejects.toThrow(/refusing to open/);
    expect(h.calls).toEqual(["browser http://172.30.0.1:80/", "browser https://shop.test/"]);
  });

  it("the helper is remembered as installed only once the install succeeded", async () => {
    const failed = harness({ installFails: true });
    await expect(failed.invoke("helper:install")).rejects.toThrow("dismissed");
    expect(failed.saved().helper).toBe("ask");
    const h = harness();
    await h.invoke("helper:install");
    expect(h.saved().helper).toBe("installed");
  });

  it("a helper record that cannot be read shows as no helper installed", async () => {
    const h = harness({
      helperConfig: async () => {
        throw new Error("/etc/minikube-tunnel/helper.json is not a helper record of ours; not touching it");
      },
    });
    expect(await h.invoke("helper:status")).toEqual({ installed: false, running: false, version: null });
  });

  it("passes the rest through to the model, the clipboard and the app", async () => {
    const h = harness();
    expect(await h.invoke("state:get")).toEqual(state);
    await h.invoke("tunnel:start", "minikube");
    await h.invoke("tunnel:stop", "minikube");
    await h.invoke("clipboard:copy", "172.30.0.1:80");
    expect(await h.invoke("logs:get", 5)).toEqual(["5 lines"]);
    expect(await h.invoke("tunnels:cleanup")).toEqual({ removed: 0, released: 0, failures: [] });
    await h.invoke("app:quit");
    expect(h.calls).toEqual(["start minikube", "stop minikube", "copy 172.30.0.1:80", "quit"]);
  });
});
