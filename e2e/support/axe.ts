/// <reference lib="dom" />
import axe from "axe-core";
import type { Page } from "playwright-core";

export interface AxeFinding {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/**
 * Runs axe-core in the page and returns the violations of moderate impact or
 * worse. The page's CSP does not apply to code the test harness evaluates
 * (DevTools protocol), so the app's CSP needs no exception for this.
 */
export async function axeViolations(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(axe.source);
  const results = await page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: typeof axe }).axe.run;
    const { violations } = await run(document, { resultTypes: ["violations"] });
    return violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => String(n.target)),
    }));
  });
  return results.filter((v) => v.impact === "moderate" || v.impact === "serious" || v.impact === "critical");
}
