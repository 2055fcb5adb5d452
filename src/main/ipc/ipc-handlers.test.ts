import { describe, expect, it } from "vitest";
import { DEFAULT_PREFERENCES } from "../../shared/preferences.js";
import { type IpcImplementation, type IpcMainLike, registerIpcHandlers } from "./ipc-handlers.js";

type Listener = Parameters<IpcMainLike["handle"]>[1];

function harness() {
  const handlers = new Map<string, Listener>();
  const calls: string[] = [];
  const refused: string[] = [];
  const implementation: IpcImplementation = {
    "state:get": () => ({ profiles: [], error: null, busy: false }),
    "tunnel:start": (profile) => void calls.push(`start ${profile}`),
    "tunnel:stop": (profile) => void calls.push(`stop ${profile}`),
    "profile:set-mode": (profile, mode) => void calls.push(`mode ${profile} ${mode}`),
    "tunnels:cleanup": () => ({ removed: 0, released: 0, failures: [] }),
    "clipboard:copy": (text) => void calls.push(`copy ${text}`),
    "logs:get": (limit) => [`${limit} lines`],
    "prefs:get": () => DEFAULT_PREFERENCES,
    "prefs:set": (prefs) => prefs,
    "prefs:choose-minikube": () => DEFAULT_PREFERENCES,
    "service:open": (ref) => void calls.push(`open ${ref.namespace}/${ref.name}:${ref.port}`),
    "name:open": (ref) => void calls.push(`open ${ref.host}:${ref.port}`),
    "helper:status": () => ({ installed: false, running: false, version: null }),
    "helper:install": () => void calls.push("install helper"),
    "app:quit": () => void calls.push("quit"),
  };
  registerIpcHandlers({ handle: (channel, listener) => void handlers.set(channel, listener) }, implementation, (m) =>
    refused.push(m),
  );
  const invoke = async (channel: string, url: string | null, ...args: unknown[]) =>
    handlers.get(channel)!({ senderFrame: url === null ? null : { url } }, ...args);
  return { handlers, calls, refused, invoke };
}

const ours = "app://minikube-tunnel/index.html";

describe("IPC handlers", () => {
  it("registers every channel of the map and passes validated calls through", async () => {
    const h = harness();
    expect([...h.handlers.keys()].sort()).toEqual([
      "app:quit",
      "clipboard:copy",
      "helper:install",
      "helper:status",
      "logs:get",
      "name:open",
      "prefs:choose-minikube",
      "prefs:get",
      "prefs:set",
      "profile:set-mode",
      "service:open",
      "state:get",
      "tunnel:start",
      "tunnel:stop",
      "tunnels:cleanup",
    ]);
    await h.invoke("tunnel:start", ours, "minikube");
    await h.invoke("service:open", ours, { profile: "minikube", namespace: "default", name: "web", port: 80 });
    await h.invoke("profile:set-mode", ours, "minikube", "forward");
    await h.invoke("name:open", ours, { profile: "minikube", host: "shop.test", port: 443 });
    await expect(h.invoke("profile:set-mode", ours, "minikube", "ssh")).rejects.toThrow();
    expect(await h.invoke("logs:get", ours, 10)).toEqual(["10 lines"]);
    expect(h.calls).toEqual(["start minikube", "open default/web:80", "mode minikube forward", "open shop.test:443"]);
  });

  it("refuses foreign senders and bad payloads before any work is done", async () => {
    const h = harness();
    const cases: [string, string | null, unknown[], RegExp][] = [
      ["tunnel:start", "https://evil.example", ["minikube"], /origin https:\/\/evil.example/],
      ["tunnel:start", "file:///tmp/x.html", ["minikube"], /origin file:\/\//],
      ["tunnel:start", null, ["minikube"], /no valid URL/],
      ["tunnel:start", ours, ["../../etc"], /invalid profile name/],
      ["tunnel:start", ours, ["minikube; rm -rf /"], /invalid profile name/],
      ["tunnel:stop", ours, [], /argument/],
      ["tunnel:stop", ours, ["a", "b"], /argument/],
      ["logs:get", ours, [1e9], /argument 0/],
      ["clipboard:copy", ours, ["x".repeat(301)], /argument 0/],
      // The page cannot hand main a URL at all: a phishing page, a local admin console, credentials in a URL.
      ["service:open", ours, ["https://evil.example/login"], /argument 0/],
      ["name:open", ours, ["https://evil.example/login"], /argument 0/],
      [
        "name:open",
        ours,
        [{ profile: "minikube", host: "shop.test", port: 443, url: "https://evil.example/" }],
        /argument 0/,
      ],
      ["service:open", ours, ["http://127.0.0.1:631/admin"], /argument 0/],
      ["service:open", ours, ["http://user:pw@host/"], /argument 0/],
      [
        "service:open",
        ours,
        [{ profile: "minikube", namespace: "default", name: "web", port: 80, url: "https://evil.example" }],
        /argument 0/,
      ],
      ["service:open", ours, [{ profile: "minikube", namespace: "default", name: "web", port: 70000 }], /argument 0/],
      [
        "prefs:set",
        ours,
        [{ ...DEFAULT_PREFERENCES, loadBalancer: { ...DEFAULT_PREFERENCES.loadBalancer, pool: ["10.0.0.0/33"] } }],
        /CIDR or a start-end range/,
      ],
      ["prefs:set", ours, [{ ...DEFAULT_PREFERENCES, minikubePath: "minikube" }], /absolute path/],
    ];
    for (const [channel, url, args, message] of cases)
      await expect(h.invoke(channel, url, ...args), `${channel} ${JSON.stringify(args)}`).rejects.toThrow(message);
    expect(h.calls).toEqual([]);
    expect(h.refused).toHaveLength(cases.length);
  });

  it("checks answers against the map too", async () => {
    const handlers = new Map<string, Listener>();
    registerIpcHandlers({ handle: (c, l) => void handlers.set(c, l) }, {
      ...harness().handlers,
      "state:get": () => ({ profiles: "oops" }),
    } as unknown as IpcImplementation);
    await expect(handlers.get("state:get")!({ senderFrame: { url: ours } })).rejects.toThrow();
  });
});
