import { describe, expect, it } from "vitest";
import { createActionRunner, type ActionDeps } from "./menu-actions.js";
import { toMenuTemplate } from "./menu-template.js";
import { buildTrayMenu } from "./tray-menu.js";

function deps(over: Partial<ActionDeps> = {}) {
  const calls: string[] = [];
  const d: ActionDeps = {
    start: async (p) => void calls.push(`start ${p}`),
    stop: async (p) => void calls.push(`stop ${p}`),
    setMode: async (p, m) => void calls.push(`mode ${p} ${m}`),
    cleanup: async () => (calls.push("cleanup"), { removed: 1, released: 0, failures: [] }),
    copy: (t) => void calls.push(`copy ${t}`),
    openUrl: async (u) => void calls.push(`open ${u}`),
    showWindow: (v) => void calls.push(`show ${v}`),
    quit: () => void calls.push("quit"),
    report: (title, error) => void calls.push(`report ${title}: ${(error as Error).message}`),
    ...over,
  };
  return { d, calls };
}

describe("tray actions", () => {
  it("every item of the menu template runs its action through the runner", async () => {
    const { d, calls } = deps();
    const run = createActionRunner(d);
    const pending: Promise<void>[] = [];
    const template = toMenuTemplate(
      buildTrayMenu({
        profiles: [
          {
            profile: "minikube",
            running: false,
            phase: "stopped",
            nodeIp: null,
            routes: [],
            services: [],
            probe: null,
          },
        ],
        error: null,
        busy: false,
      }),
      (a) => pending.push(run(a)),
    );
    for (const id of ["start:minikube", "cleanup", "open-window", "preferences", "quit"]) {
      const item = template.find((t) => t.id === id)!;
      (item.click as () => void)();
    }
    await Promise.all(pending);
    expect(calls).toEqual(["start minikube", "cleanup", "show tunnels", "show preferences", "quit"]);
    expect(template.find((t) => t.id === "conflicts")).toMatchObject({ enabled: false });
    expect(template.find((t) => t.id === "sep-status")).toEqual({ id: "sep-status", type: "separator" });
  });

  it("a route-mode profile the node does not answer through offers forward mode from the tray", async () => {
    const { d, calls } = deps();
    const run = createActionRunner(d);
    const pending: Promise<void>[] = [];
    const profile = {
      profile: "minikube",
      running: true,
      phase: "active",
      nodeIp: "192.168.49.2",
      routes: [{ cidr: "10.96.0.0/12", gateway: "192.168.49.2", kind: "service" as const, state: "active" as const }],
      services: [],
      probe: { target: "10.96.0.1:443", ok: false, error: "timed out" },
      mode: "route" as const,
      suggestion: "forward-mode" as const,
    };
    const template = toMenuTemplate(buildTrayMenu({ profiles: [profile], error: null, busy: false }), (a) =>
      pending.push(run(a)),
    );
    const item = template.find((t) => t.id === "suggest-forward:minikube")!;
    expect(item.label).toBe("  Not reachable through routes: use forward mode");
    (item.click as () => void)();
    await Promise.all(pending);
    expect(calls).toEqual(["mode minikube forward"]);
  });

  it("failures are reported with what failed, never swallowed", async () => {
    const { d, calls } = deps({
      start: async () => {
        throw new Error("the request was declined");
      },
      cleanup: async () => ({ removed: 0, released: 0, failures: ["10.97.0.0/16 via 192.168.49.2: busy"] }),
    });
    const run = createActionRunner(d);
    await run({ type: "start", profile: "dev" });
    await run({ type: "cleanup" });
    expect(calls).toEqual([
      "report Could not start the tunnel for dev: the request was declined",
      "report Cleanup could not remove every stale route: 10.97.0.0/16 via 192.168.49.2: busy",
    ]);
  });
});
