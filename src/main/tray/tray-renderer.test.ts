import { describe, expect, it } from "vitest";
import type { AppState, ProfileView, ServiceView } from "../../shared/app-state.js";
import { MAX_TRAY_SERVICES, type MenuItem } from "./tray-menu.js";
import { TrayRenderer } from "./tray-renderer.js";

const service = (i: number): ServiceView => ({
  namespace: "default",
  name: `svc-${i}`,
  ports: [{ port: 80, protocol: "TCP" }],
  externalIps: [{ ip: `10.96.${Math.floor(i / 250)}.${i % 250}`, ipMode: "VIP" }],
  owner: "minikube-tunnel",
});
const running = (services: ServiceView[], over: Partial<ProfileView> = {}): AppState => ({
  profiles: [
    {
      profile: "minikube",
      running: true,
      phase: "active",
      nodeIp: "192.168.49.2",
      routes: [{ cidr: "10.96.0.0/12", gateway: "192.168.49.2", kind: "service", state: "active" }],
      services,
      probe: { target: "10.96.0.1:443", ok: true, latencyMs: 1 },
      ...over,
    },
  ],
  error: null,
  busy: false,
});

function renderer() {
  const calls = { images: [] as string[], menus: [] as MenuItem[][] };
  const tray = {
    setImage: (i: string) => calls.images.push(i),
    setContextMenu: (m: MenuItem[]) => calls.menus.push(m),
  };
  return { calls, r: new TrayRenderer(tray, { image: (s) => s, menu: (items) => [...items] }) };
}

describe("tray renderer", () => {
  it("with 10,000 Services the menu lists 20 and points to the window for the rest", () => {
    const { calls, r } = renderer();
    r.render(running(Array.from({ length: 10_000 }, (_, i) => service(i))));
    const services = calls.menus[0]!.find((i) => i.id === "services")!.submenu!;
    expect(services.filter((i) => i.id.startsWith("service:"))).toHaveLength(MAX_TRAY_SERVICES);
    expect(services.at(-1)).toEqual({
      id: "services-more",
      label: "9980 more… in the window",
      action: { type: "open-services" },
    });
  });

  it("does not rebuild the menu or the icon when nothing it shows changed (10,000 Services, 50 pushes)", () => {
    const { calls, r } = renderer();
    const services = Array.from({ length: 10_000 }, (_, i) => service(i));
    r.render(running(services));
    for (let k = 0; k < 50; k++) {
      // A Service the menu does not show changed, and the probe only got slower: the menu looks the same.
      const changed = services.map((s, i) => (i === 5000 + k ? { ...s, pending: `waiting ${k}` } : s));
      r.render(running(changed, { probe: { target: "10.96.0.1:443", ok: true, latencyMs: k } }));
    }
    expect(r.rebuilds).toBe(1);
    expect(calls.images).toEqual(["active"]);
    r.render(running(services.slice(1)));
    expect(r.rebuilds).toBe(2);
  });

  it("a tunnel whose routes are in but whose probe fails is degraded: its own icon and menu line", () => {
    const { calls, r } = renderer();
    r.render(running([], { probe: { target: "10.96.0.1:443", ok: false, error: "no answer within 1500 ms" } }));
    expect(calls.images).toEqual(["degraded"]);
    const menu = calls.menus[0]!;
    expect(menu.find((i) => i.id === "status")?.label).toBe("1 tunnel running, 1 degraded");
    expect(menu.find((i) => i.id === "profile:minikube")?.label).toBe(
      "minikube (192.168.49.2): degraded, 10.96.0.1:443 does not answer through the routes",
    );
  });
});
