/// <reference lib="dom" />
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from "../src/shared/content-security-policy.js";
import { forwardState, idleState, manyServicesState, runningState } from "./fixtures/app-states.js";
import { launchChromium } from "./support/chromium.js";
import { callsOf, type FakeApiOptions, installFakeTunnelApi } from "./support/fake-tunnel-api.js";
import { startUiServer } from "./support/ui-server.js";

/** Screenshots land here; `npm run screenshots` writes the README's copies in docs/screenshots. */
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? join(import.meta.dirname, "output", "screenshots");

let browser: Browser;
let server: Awaited<ReturnType<typeof startUiServer>>;
const cspViolations: string[] = [];

beforeAll(async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  server = await startUiServer();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(view: string, options: FakeApiOptions, colorScheme: "light" | "dark" = "light"): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 }, colorScheme });
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => cspViolations.push(`page error: ${e.message}`));
  await installFakeTunnelApi(page, options);
  await page.goto(`${server.url}/index.html#${view}`);
  await page.getByRole("tablist").waitFor();
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

describe("renderer in Debian Chromium", () => {
  it("is served with the app's CSP and runs under it without a violation", async () => {
    const page = await browser.newPage();
    await installFakeTunnelApi(page, { state: idleState });
    const response = await page.goto(`${server.url}/index.html`);
    expect(response?.headers()["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content")).toBe(
      CONTENT_SECURITY_POLICY_META,
    );
    await page.getByRole("tablist").waitFor();
    expect(await page.evaluate(() => typeof (globalThis as Record<string, unknown>).require)).toBe("undefined");
    await page.close();
  });

  it("Tunnels: every profile with state, node IP, routes, probe; Start and Stop call the API", async () => {
    const page = await open("tunnels", { state: runningState });
    const minikube = page.getByRole("region", { name: "minikube" });
    await expect.poll(() => minikube.getByText("10.96.0.0/12").count()).toBe(1);
    expect(await minikube.textContent()).toContain("node 192.168.49.2");
    expect(await minikube.textContent()).toContain("LoadBalancer pool");
    expect(await minikube.textContent()).toContain("Reachability: 10.96.0.1:443 answered in 2 ms");
    expect(await page.getByRole("region", { name: "staging" }).textContent()).toContain(
      'Start failed: profile "staging"',
    );
    await shot(page, "tunnels");
    await minikube.getByRole("button", { name: "Stop tunnel" }).click();
    await page.getByRole("region", { name: "staging" }).getByRole("button", { name: "Start tunnel" }).click();
    await page.getByRole("button", { name: "Clean up stale tunnels" }).click();
    await page.getByText("Removed 2 stale routes and released 1 external IP.").waitFor();
    expect(await callsOf(page)).toEqual([["stop", "minikube"], ["start", "staging"], ["cleanup"]]);
    await page.close();
  });

  it("Tunnels follows pushed state, and a refused Start is shown", async () => {
    const page = await open("tunnels", {
      state: idleState,
      failures: { start: "Minikube Tunnel needs administrator rights to change routes, and the request was declined" },
    });
    await page.getByRole("region", { name: "minikube" }).getByRole("button", { name: "Start tunnel" }).click();
    await page.getByRole("alert").filter({ hasText: "request was declined" }).waitFor();
    await page.evaluate(
      (s) => (globalThis as unknown as { __pushState(s: unknown): void }).__pushState(s),
      runningState,
    );
    await page.getByRole("region", { name: "minikube" }).getByRole("button", { name: "Stop tunnel" }).waitFor();
    await page.close();
  });

  it("Conflicts: requested CIDR, existing route's destination, gateway and interface, why, and the command to remove it", async () => {
    const page = await open("conflicts", { state: runningState });
    const card = page.getByRole("region", { name: "Conflict for 10.100.0.0/16" });
    const text = await card.textContent();
    expect(text).toContain("10.100.0.0/20");
    expect(text).toContain("172.17.0.5");
    expect(text).toContain("docker0");
    expect(text).toContain("overlaps");
    expect(await card.locator("code").textContent()).toBe("sudo ip route del 10.100.0.0/20 via 172.17.0.5 dev docker0");
    // The badge is read as part of the tab's name: "Conflicts (1)", not "Conflicts1 items".
    expect(await page.getByRole("tab", { name: "Conflicts (1)", exact: true }).count()).toBe(1);
    await shot(page, "conflicts");
    await card.getByRole("button", { name: "Copy command" }).click();
    expect(await callsOf(page)).toEqual([["copy", "sudo ip route del 10.100.0.0/20 via 172.17.0.5 dev docker0"]]);
    await page.close();
  });

  it("Services: namespace, name, ports, external IP, mode, owner; copy and open in browser", async () => {
    const page = await open("services", { state: runningState });
    const rows = page.locator("table.services tbody tr");
    expect(await rows.count()).toBe(5);
    const web = rows.filter({ hasText: "web" });
    expect(await web.textContent()).toMatch(/default.*web.*80\/TCP.*172\.30\.0\.1.*pool · VIP.*Minikube Tunnel/);
    expect(await rows.filter({ hasText: "billing" }).textContent()).toContain("another controller");
    expect(await rows.filter({ hasText: "queued" }).textContent()).toContain("pending: no free address");
    await shot(page, "services");
    await web.getByRole("button", { name: "Copy 172.30.0.1:80" }).click();
    await web.getByRole("button", { name: "Open http://172.30.0.1:80/ in the browser" }).click();
    await rows
      .filter({ hasText: "checkout" })
      .getByRole("button", { name: "Open https://172.30.0.2:443/ in the browser" })
      .click();
    expect(await rows.filter({ hasText: "coredns-lb" }).getByRole("button", { name: /^Open/ }).count()).toBe(0);
    await page.getByRole("searchbox").fill("shop/");
    await expect.poll(() => rows.count()).toBe(1);
    // The page asks main to open a Service port; main builds the URL from its own state.
    expect(await callsOf(page)).toEqual([
      ["copy", "172.30.0.1:80"],
      ["openService", { profile: "minikube", namespace: "default", name: "web", port: 80 }],
      ["openService", { profile: "minikube", namespace: "shop", name: "checkout", port: 443 }],
    ]);
    await page.close();
  });

  it("forward mode: the mode, the SSH link, each port on its own loopback address with its state; the mode can be changed; an unreachable route-mode node offers forward mode", async () => {
    const page = await open("tunnels", { state: forwardState });
    const minikube = page.getByRole("region", { name: "minikube" });
    await minikube.getByText("Forward mode", { exact: true }).waitFor();
    expect(await minikube.textContent()).toContain("SSH link to the node 127.0.0.1:49162: up");
    expect(await minikube.textContent()).toContain("2 of 4 Service ports forwarded on their own loopback addresses");
    expect(await minikube.textContent()).toContain(
      "Names: on for *.svc.cluster.local, through hosts file; try api.default.svc.cluster.local",
    );
    expect(await minikube.textContent()).not.toContain("node IP unknown");
    await shot(page, "forward-mode");
    const desktop = page.getByRole("region", { name: "desktop" });
    expect(await desktop.textContent()).toContain(
      "not reachable through routes from here. Forward mode reaches it over SSH.",
    );
    await desktop.getByRole("button", { name: "Use forward mode" }).click();
    await minikube.getByRole("combobox", { name: "Reach by" }).selectOption("route");

    await page.getByRole("tab", { name: "Services" }).click();
    const rows = page.locator("table.services tbody tr");
    await expect.poll(() => rows.count()).toBe(3);
    const web = rows.filter({ hasText: "web" });
    expect(await web.textContent()).toMatch(/80\/TCP.*9090\/TCP.*port in use.*127\.70\.0\.1.*forward · Proxy/);
    expect(await rows.filter({ hasText: "coredns-lb" }).textContent()).toMatch(/53\/UDP\s*not forwarded/);
    expect(await rows.filter({ hasText: "coredns-lb" }).getByRole("button", { name: /^Copy/ }).count()).toBe(0);
    expect(await web.getByRole("button", { name: "Copy 127.70.0.1:9090" }).count()).toBe(0);
    await shot(page, "forward-mode-services");
    await web.getByRole("button", { name: "Copy 127.70.0.1:80" }).click();
    expect(await callsOf(page)).toEqual([
      ["setMode", "desktop", "forward"],
      ["setMode", "minikube", "route"],
      ["copy", "127.70.0.1:80"],
    ]);
    await page.close();
  });

  it("Services with 2,000 entries: the row count is announced, and scrolling reaches the last one", async () => {
    const page = await open("services", { state: manyServicesState(2000) });
    const table = page.locator("table.services");
    expect(await table.getAttribute("aria-rowcount")).toBe("2001");
    expect(await page.locator("table.services tbody tr:not(.spacer-row)").count()).toBeLessThan(200);
    await page.locator(".table-scroll").evaluate((box) => (box.scrollTop = box.scrollHeight));
    await page.locator("table.services tbody tr", { hasText: "svc-1999" }).waitFor();
    expect(await page.locator("table.services tbody tr", { hasText: "svc-1999" }).getAttribute("aria-rowindex")).toBe(
      "2001",
    );
    await page.close();
  });

  it("Logs: the session log", async () => {
    const page = await open("logs", {
      state: runningState,
      logs: [
        "2026-11-26T06:00:00.000Z [minikube] route 10.96.0.0/12 via 192.168.49.2 added",
        "2026-11-26T06:00:00.100Z [minikube] default/web → 172.30.0.1",
      ],
    });
    await page.getByLabel("Session log").waitFor();
    expect(await page.getByLabel("Session log").textContent()).toContain("route 10.96.0.0/12 via 192.168.49.2 added");
    await shot(page, "logs");
    await page.close();
  });

  it("Preferences: edits are saved through the API; main's refusal is shown", async () => {
    const page = await open("preferences", { state: runningState });
    await page.getByLabel("minikube", { exact: true }).check();
    await page.getByLabel("External IP from a pool").check();
    await page.getByLabel(/^Pool/).fill("172.30.0.0/24\n172.31.0.10-172.31.0.20");
    await page.getByLabel("Start at login").check();
    await page.getByLabel(/^Node ports answer on 127\.0\.0\.1/).uncheck();
    await page.getByRole("button", { name: "Choose…" }).click();
    await page.getByText("/usr/local/bin/minikube").waitFor();
    await shot(page, "preferences");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(/^Saved\./).waitFor();
    const [[name], [setName, saved]] = (await callsOf(page)) as [
      [string],
      [
        string,
        {
          autoStartProfiles: string[];
          loadBalancer: { mode: string; pool: string[] };
          startAtLogin: boolean;
          nodePorts: boolean;
        },
      ],
    ];
    expect(setName).toBe("setPreferences");
    expect(name).toBe("chooseMinikube");
    expect(saved).toMatchObject({
      autoStartProfiles: ["minikube"],
      loadBalancer: { mode: "pool", pool: ["172.30.0.0/24", "172.31.0.10-172.31.0.20"] },
      startAtLogin: true,
      nodePorts: false,
    });
    await page.close();

    // The network helper: not installed here; installing it once is one click (main runs the elevation).
    const helper = await open("preferences", { state: runningState });
    await helper.getByText("Not installed: each session asks for your password once.").waitFor();
    await helper.getByRole("button", { name: "Install the network helper (asks once)" }).click();
    await helper.getByText("Installed. Starting a tunnel no longer asks for a password.").waitFor();
    expect(await callsOf(helper)).toEqual([["installHelper"]]);
    await helper.close();

    const refused = await open("preferences", {
      state: runningState,
      failures: {
        setPreferences: "refused prefs:set: argument 0.loadBalancer.pool.0 must be a CIDR or a start-end range",
      },
    });
    await refused.getByRole("button", { name: "Save" }).click();
    await refused.getByRole("alert").filter({ hasText: "must be a CIDR or a start-end range" }).waitFor();
    await refused.close();
  });

  it("keyboard: arrow keys move between tabs, Enter activates buttons; main can ask for a view", async () => {
    const page = await open("tunnels", { state: runningState });
    await page.getByRole("tab", { name: "Tunnels" }).focus();
    await page.keyboard.press("ArrowRight");
    const selected = () => page.getByRole("tab", { selected: true }).getAttribute("id");
    expect(await selected()).toBe("tab-conflicts");
    await page.keyboard.press("End");
    expect(await selected()).toBe("tab-preferences");
    await page.keyboard.press("ArrowRight");
    expect(await selected()).toBe("tab-tunnels");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("role"))).toBe("tab");
    await page.evaluate(() => (globalThis as unknown as { __showView(v: string): void }).__showView("conflicts"));
    expect(await selected()).toBe("tab-conflicts");
    const stop = page.getByRole("region", { name: "minikube" });
    await page.getByRole("tab", { name: "Tunnels" }).click();
    await stop.getByRole("button", { name: "Stop tunnel" }).focus();
    await page.keyboard.press("Enter");
    expect(await callsOf(page)).toEqual([["stop", "minikube"]]);
    await page.close();
  });

  it("dark theme: readable colours for every view", async () => {
    for (const view of ["tunnels", "conflicts", "services"]) {
      const page = await open(view, { state: runningState }, "dark");
      const [bg, fg] = await page.evaluate(() => [
        getComputedStyle(document.body).backgroundColor,
        getComputedStyle(document.body).color,
      ]);
      expect(bg).toBe("rgb(13, 17, 23)");
      expect(fg).toBe("rgb(230, 237, 243)");
      await shot(page, `${view}-dark`);
      await page.close();
    }
    expect(cspViolations).toEqual([]);
  });
});
