/// <reference lib="dom" />
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VIEWS } from "../src/shared/ipc-contract.js";
import { forwardState, runningState } from "./fixtures/app-states.js";
import { axeViolations } from "./support/axe.js";
import { launchChromium } from "./support/chromium.js";
import { installFakeTunnelApi } from "./support/fake-tunnel-api.js";
import { startUiServer } from "./support/ui-server.js";

const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? join(import.meta.dirname, "output", "screenshots");
/** The window's minimum size (secure-window.ts). */
const MIN = { width: 640, height: 420 };

let browser: Browser;
let server: Awaited<ReturnType<typeof startUiServer>>;

beforeAll(async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  server = await startUiServer();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(
  view: string,
  viewport: { width: number; height: number },
  colorScheme: "light" | "dark",
): Promise<Page> {
  const page = await browser.newPage({ viewport, colorScheme });
  await installFakeTunnelApi(page, {
    state: runningState,
    logs: ["2026-11-26T06:00:00.000Z [minikube] route 10.96.0.0/12 via 192.168.49.2 added"],
  });
  await page.goto(`${server.url}/index.html#${view}`);
  await page.getByRole("tablist").waitFor();
  // The Logs view loads its lines after the first paint.
  if (view === "logs") await page.getByRole("region", { name: "Session log" }).waitFor();
  return page;
}

describe("accessibility (axe-core in Debian Chromium)", () => {
  for (const colorScheme of ["light", "dark"] as const) {
    it.each([...VIEWS])(`%s, ${colorScheme}: no violation of moderate impact or worse`, async (view) => {
      const page = await open(view, { width: 1000, height: 700 }, colorScheme);
      expect(await axeViolations(page)).toEqual([]);
      await page.close();
    });
  }
});

describe("forward mode (axe-core)", () => {
  it.each(["tunnels", "services"] as const)(
    "%s in forward mode, light and dark: no violation of moderate impact or worse",
    async (view) => {
      for (const colorScheme of ["light", "dark"] as const) {
        const page = await browser.newPage({ viewport: { width: 1000, height: 700 }, colorScheme });
        await installFakeTunnelApi(page, { state: forwardState });
        await page.goto(`${server.url}/index.html#${view}`);
        await page.getByRole("tablist").waitFor();
        expect(await axeViolations(page), colorScheme).toEqual([]);
        await page.close();
      }
    },
  );
});

describe("at the minimum window size (640 × 420)", () => {
  it.each([...VIEWS])(
    "%s: no sideways page scroll, Quit in sight, and every control can be reached and seen",
    async (view) => {
      const page = await open(view, MIN, "light");
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(MIN.width);
      const quit = await page.getByRole("button", { name: "Quit" }).boundingBox();
      expect(
        quit && quit.x >= 0 && quit.x + quit.width <= MIN.width && quit.y + quit.height <= MIN.height,
        `Quit at ${JSON.stringify(quit)}`,
      ).toBe(true);

      // Tab through the page: each control that takes focus must then be on screen and not hidden under anything.
      const seen: string[] = [];
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press("Tab");
        const report = await page.evaluate((step) => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return null;
          const again = el.dataset.visited !== undefined;
          el.dataset.visited = String(step);
          const r = el.getBoundingClientRect();
          const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
          const y = Math.min(Math.max(r.top + Math.min(r.height / 2, 10), 0), innerHeight - 1);
          const hit = document.elementFromPoint(x, y);
          return {
            again,
            name: `${el.tagName.toLowerCase()} "${(el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 40)}"`,
            inView:
              r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight,
            onTop: hit !== null && (hit === el || el.contains(hit) || hit.contains(el)),
          };
        }, i);
        if (!report) continue;
        if (report.again) break;
        seen.push(report.name);
        expect(report.inView, `${report.name} is focusable but off screen`).toBe(true);
        expect(report.onTop, `${report.name} is focusable but covered or clipped`).toBe(true);
      }
      expect(seen.length, seen.join(", ")).toBeGreaterThanOrEqual(view === "logs" ? 3 : 4);
      // The tabs take focus one at a time (arrow keys): each one, once focused, is in sight too.
      await page.getByRole("tab", { selected: true }).focus();
      for (let i = 0; i < VIEWS.length; i++) {
        await page.keyboard.press("ArrowRight");
        const box = await page.getByRole("tab", { selected: true }).boundingBox();
        expect(box && box.x >= 0 && box.x + box.width <= MIN.width, `tab ${i} at ${JSON.stringify(box)}`).toBe(true);
      }
      if (view === "services" || view === "tunnels")
        await page.screenshot({ path: join(SCREENSHOT_DIR, `${view}-640.png`) });
      await page.close();
    },
  );
});
