/// <reference lib="dom" />
import type { Browser } from "playwright-core";
import { manyServicesState } from "../e2e/fixtures/app-states.js";
import { launchChromium } from "../e2e/support/chromium.js";
import { installFakeTunnelApi } from "../e2e/support/fake-tunnel-api.js";
import { startUiServer } from "../e2e/support/ui-server.js";
import { median, round1 } from "./stats.js";

export interface UiBenchResult {
  services: number;
  rounds: number;
  /**
   * Navigation start → the Services table for all of them is drawn (rows near the viewport are in the DOM; built
   * bundle, Debian Chromium, headless).
   */
  firstRenderMs: number;
  /** A pushed state with every IP changed → the DOM shows it and a frame has been drawn. */
  updateMs: number;
  /** Jumping to the end of the list → the last Service drawn. */
  scrollToEndMs: number;
  /** Typing a filter that leaves one row → that one row shown. */
  filterMs: number;
  jsHeapMb: number;
}

/** The UI benchmark: the Services view with `count` Services, median of `rounds` fresh pages. */
export async function benchUi(count = 2000, rounds = 5): Promise<UiBenchResult> {
  const server = await startUiServer();
  let browser: Browser | undefined;
  const first: number[] = [];
  const update: number[] = [];
  const filter: number[] = [];
  const scroll: number[] = [];
  const heap: number[] = [];
  try {
    browser = await launchChromium();
    const state = manyServicesState(count);
    const changed = structuredClone(state);
    for (const s of changed.profiles[0]!.services)
      s.externalIps = [{ ip: s.externalIps[0]!.ip!.replace(/^172\.30\./, "172.31."), ipMode: "VIP" }];
    for (let round = 0; round < rounds; round++) {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      await installFakeTunnelApi(page, { state });
      await page.addInitScript((n) => {
        const g = globalThis as unknown as { __renderedAt?: number };
        new MutationObserver((_, observer) => {
          if (document.querySelector(`table.services[data-rows="${n}"] tbody tr:not(.spacer-row)`)) {
            g.__renderedAt = performance.now();
            observer.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
      }, count);
      await page.goto(`${server.url}/index.html#services`);
      await page.waitForFunction(() => (globalThis as unknown as { __renderedAt?: number }).__renderedAt !== undefined);
      first.push(await page.evaluate(() => (globalThis as unknown as { __renderedAt: number }).__renderedAt));
      update.push(
        await page.evaluate(async (next) => {
          const first = next.profiles[0]!.services[0]!.externalIps[0]!.ip!;
          const t0 = performance.now();
          (globalThis as unknown as { __pushState(s: unknown): void }).__pushState(next);
          await new Promise<void>((resolve) => {
            const check = () =>
              document.querySelector("table.services tbody tr:not(.spacer-row)")?.textContent?.includes(first)
                ? requestAnimationFrame(() => resolve())
                : requestAnimationFrame(check);
            check();
          });
          return performance.now() - t0;
        }, changed),
      );
      scroll.push(
        await page.evaluate(
          async (lastName) => {
            const t0 = performance.now();
            const box = document.querySelector(".table-scroll")!;
            box.scrollTop = box.scrollHeight;
            await new Promise<void>((resolve) => {
              const check = () =>
                [...document.querySelectorAll("table.services tbody tr")].some((r) => r.textContent?.includes(lastName))
                  ? requestAnimationFrame(() => resolve())
                  : requestAnimationFrame(check);
              check();
            });
            return performance.now() - t0;
          },
          `svc-${count - 1}`,
        ),
      );
      const t0 = await page.evaluate(() => performance.now());
      await page.getByRole("searchbox").fill(`svc-${count - 1}`);
      await page.waitForFunction(() => document.querySelectorAll("table.services tbody tr").length === 1);
      filter.push((await page.evaluate(() => performance.now())) - t0);
      heap.push(
        await page.evaluate(
          () => ((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 1e6,
        ),
      );
      await page.close();
    }
  } finally {
    await browser?.close();
    await server.close();
  }
  return {
    services: count,
    rounds,
    firstRenderMs: round1(median(first)),
    updateMs: round1(median(update)),
    scrollToEndMs: round1(median(scroll)),
    filterMs: round1(median(filter)),
    jsHeapMb: round1(median(heap)),
  };
}
