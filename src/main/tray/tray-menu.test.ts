import { describe, expect, it } from "vitest";
import { publicName, shopName } from "../../../test-support/name-views.js";
import type { AppState, ProfileView } from "../../shared/app-state.js";
import { trayIconState } from "../../shared/app-state.js";
import { buildTrayMenu, MAX_TRAY_SERVICES, type MenuItem } from "./tray-menu.js";

const profile = (over: Partial<ProfileView> = {}): ProfileView => ({
  profile: "minikube",
  running: false,
  phase: "stopped",
  nodeIp: null,
  routes: [],
  services: [],
  probe: null,
  ...over,
});
const state = (profiles: ProfileView[], over: Partial<AppState> = {}): AppState => ({
  profiles,
  error: null,
  busy: false,
  ...over,
});
const ids = (items: readonly MenuItem[]) => items.map((i) => i.id);
const find = (items: readonly MenuItem[], id: string): MenuItem | undefined => {
  for (const item of items) {
    if (item.id === id) return item;
    const inner = item.submenu ? find(item.submenu, id) : undefined;
    if (inner) return inner;
  }
  return undefined;
};

describe("tray menu", () => {
  it("idle: a status line, Start per profile, and the app items", () => {
    const menu = buildTrayMenu(state([profile(), profile({ profile: "dev" })]));
    expect(find(menu, "status")?.label).toBe("No tunnel running");
    expect(find(menu, "start:minikube")?.action).toEqual({ type: "start", profile: "minikube" });
    expect(find(menu, "start:dev")).toBeDefined();
    expect(ids(menu).slice(-3)).toEqual(["open-window", "preferences", "quit"]);
    expect(find(menu, "conflicts")).toMatchObject({ label: "Conflicts (0)…", enabled: false });
    expect(trayIconState(state([profile()]))).toBe("idle");
  });

  it("running with routes: Stop, and each route with its state", () => {
    const s = state([
      profile({
        running: true,
        phase: "active",
        nodeIp: "192.168.49.2",
        routes: [
          { cidr: "10.96.0.0/12", gateway: "192.168.49.2", kind: "service", state: "active" },
          { cidr: "10.244.0.0/24", gateway: "192.168.49.2", kind: "pod", state: "pending" },
        ],
      }),
    ]);
    const menu = buildTrayMenu(s);
    expect(find(menu, "status")?.label).toBe("1 tunnel running");
    expect(find(menu, "stop:minikube")?.action).toEqual({ type: "stop", profile: "minikube" });
    expect(find(menu, "start:minikube")).toBeUndefined();
    expect(find(menu, "route:minikube:10.96.0.0/12")?.label).toBe("  10.96.0.0/12 → 192.168.49.2  active");
    expect(find(menu, "route:minikube:10.244.0.0/24")?.label).toContain("pending");
    expect(trayIconState(s)).toBe("active");
  });

  it("conflicts: counted, openable, and the icon says so", () => {
    const s = state([
      profile({
        running: true,
        phase: "active",
        routes: [
          {
            cidr: "10.96.0.0/12",
            gateway: "192.168.49.2",
            kind: "service",
            state: "conflict",
            conflict: {
              requested: "10.96.0.0/12",
              existing: { destination: "10.96.0.0/16", gateway: null, interface: "wg0" },
              reason: "overlap",
              message: "x",
            },
          },
        ],
      }),
    ]);
    const menu = buildTrayMenu(s);
    expect(find(menu, "conflicts")).toMatchObject({
      label: "Conflicts (1)…",
      enabled: true,
      action: { type: "open-conflicts" },
    });
    expect(find(menu, "status")?.label).toBe("1 tunnel running, 1 conflict");
    expect(trayIconState(s)).toBe("conflict");
  });

  it("services: namespace/name ip:port; copy, and Open in browser for http ports", () => {
    const s = state([
      profile({
        running: true,
        phase: "active",
        services: [
          {
            namespace: "default",
            name: "web",
            ports: [
              { port: 80, protocol: "TCP" },
              { port: 5432, protocol: "TCP" },
            ],
            externalIps: [{ ip: "10.96.0.12", ipMode: "VIP" }],
            owner: "minikube-tunnel",
          },
          {
            namespace: "shop",
            name: "v6",
            ports: [{ port: 8080, protocol: "TCP" }],
            externalIps: [{ ip: "fd00::12" }],
            owner: "minikube-tunnel",
          },
          {
            namespace: "default",
            name: "pending",
            ports: [{ port: 80, protocol: "TCP" }],
            externalIps: [],
            owner: "none",
          },
        ],
      }),
    ]);
    const menu = buildTrayMenu(s);
    expect(find(menu, "service:default/web:80")?.label).toBe("default/web  10.96.0.12:80");
    expect(find(menu, "open:default/web:80")?.action).toEqual({ type: "open-url", url: "http://10.96.0.12:80/" });
    expect(find(menu, "copy:default/web:80")?.action).toEqual({ type: "copy", text: "10.96.0.12:80" });
    expect(find(menu, "service:default/web:5432")?.action).toEqual({ type: "copy", text: "10.96.0.12:5432" });
    expect(find(menu, "open:shop/v6:8080")?.action).toEqual({ type: "open-url", url: "http://[fd00::12]:8080/" });
    expect(find(menu, "service:default/pending:80")).toBeUndefined();
  });

  it("error: the status line names it, the icon is the error one, and actions wait while busy", () => {
    const s = state([profile({ running: true, phase: "active" })], { error: "helper exited", busy: true });
    const menu = buildTrayMenu(s);
    expect(find(menu, "status")?.label).toBe("Error: helper exited");
    expect(trayIconState(s)).toBe("error");
    expect(find(menu, "stop:minikube")?.enabled).toBe(false);
    expect(find(menu, "cleanup")?.enabled).toBe(false);
  });

  it("ids are stable across rebuilds", () => {
    const s = state([profile({ running: true, phase: "active" })]);
    expect(ids(buildTrayMenu(s))).toEqual(ids(buildTrayMenu(structuredClone(s))));
  });

  it("forward mode: the mode and the SSH link in the profile line; each port on its own address, a UDP one too; one not forwarded shown, not offered; a refused link is an error", () => {
    const web = {
      namespace: "default",
      name: "web",
      ports: [
        { port: 80, protocol: "TCP", name: "http", forward: { address: "127.70.0.1", state: "listening" as const } },
      ],
      externalIps: [{ ip: "127.70.0.1", ipMode: "Proxy" }],
      owner: "minikube-tunnel" as const,
    };
    const dns = {
      namespace: "default",
      name: "dns",
      ports: [
        { port: 53, protocol: "UDP", forward: { address: "127.70.0.2", state: "udp-not-forwarded" as const } },
        { port: 5300, protocol: "UDP", forward: { address: "127.70.0.2", state: "listening" as const } },
      ],
      externalIps: [{ ip: "127.70.0.2", ipMode: "Proxy" }],
      owner: "minikube-tunnel" as const,
    };
    const up = profile({
      running: true,
      phase: "active",
      mode: "forward",
      link: { state: "up", endpoint: "127.0.0.1:49162" },
      services: [web, dns],
      probe: { target: "10.96.0.1:443", ok: true },
      names: { state: "on", domain: "cluster.local", how: "hosts file", example: "web.default.svc.cluster.local" },
    });
    const menu = buildTrayMenu(state([up]));
    expect(find(menu, "profile:minikube")?.label).toBe("minikube (forward mode): active, SSH link up");
    expect(find(menu, "names:minikube")?.label).toBe("  names: on (web.default.svc.cluster.local)");
    expect(find(menu, "copy:default/web:80")?.action).toEqual({ type: "copy", text: "127.70.0.1:80" });
    expect(find(menu, "service:default/dns:53")).toMatchObject({
      label: "default/dns  53/UDP  not forwarded",
      enabled: false,
    });
    expect(find(menu, "service:default/dns:5300")?.label).toBe("default/dns  127.70.0.2:5300");
    expect(trayIconState(state([up]))).toBe("active");
    const refused = profile({
      running: true,
      phase: "retrying",
      mode: "forward",
      link: { state: "refused", endpoint: "127.0.0.1:49162", error: "host key mismatch" },
    });
    expect(find(buildTrayMenu(state([refused])), "profile:minikube")?.label).toBe(
      "minikube (forward mode): retrying, SSH link refused (host key mismatch)",
    );
    expect(trayIconState(state([refused]))).toBe("error");
  });
});

describe("tray menu: Ingress and Gateway names under Services", () => {
  const shop = shopName;
  const running = (over: Partial<ProfileView>) => profile({ running: true, phase: "active", ...over });

  it("a mapped name copies and opens per port; one that is not says why and copies its curl --resolve line", () => {
    const menu = buildTrayMenu(
      state([
        running({ ingresses: [publicName, shop], gateways: [{ ...shop, host: "api.test", object: "default/gw" }] }),
      ]),
    );
    const services = find(menu, "services")!;
    expect(services).toMatchObject({ label: "Services and Ingress names", enabled: true });
    expect(ids(services.submenu!)).toEqual([
      "names-title",
      "name:minikube:Ingress:default/public:shop.example.com",
      "name:minikube:Ingress:default/shop:shop.test",
      "name:minikube:Gateway:default/gw:api.test",
    ]);
    expect(find(menu, "name:minikube:Ingress:default/public:shop.example.com")).toMatchObject({
      label: "shop.example.com  not mapped: public name",
      action: { type: "copy", text: publicName.curl },
    });
    const item = find(menu, "name:minikube:Ingress:default/shop:shop.test")!;
    expect(item.label).toBe("shop.test  192.168.49.2 (80, 443)");
    expect(item.submenu!.map((i) => i.action)).toEqual([
      { type: "copy", text: "http://shop.test/" },
      { type: "open-url", url: "http://shop.test/" },
      { type: "copy", text: "https://shop.test/" },
      { type: "open-url", url: "https://shop.test/" },
    ]);
  });

  it("names share the Services' room, and a stopped profile shows none", () => {
    const many = Array.from({ length: MAX_TRAY_SERVICES + 5 }, (_, i) => ({ ...shop, host: `s${i}.test` }));
    const menu = buildTrayMenu(state([running({ ingresses: many })]));
    const submenu = find(menu, "services")!.submenu!;
    expect(submenu.filter((i) => i.id.startsWith("name:"))).toHaveLength(MAX_TRAY_SERVICES);
    expect(find(menu, "services-more")?.label).toBe("5 more… in the window");
    const stopped = buildTrayMenu(state([profile({ ingresses: [shop] })]));
    expect(find(stopped, "services")).toMatchObject({ label: "Services with external IPs", enabled: false });
  });
});
