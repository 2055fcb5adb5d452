/**
 * What `before-quit` runs: stop every tunnel (routes, registry entries, owned
 * IPs) within a time limit, telling the user when it takes longer than a
 * moment. The helper's own cleanup on disconnect is the backstop if this fails
 * or runs out of time.
 */
export interface QuitDeps {
  stopAll(): Promise<void>;
  /** Called once if stopping takes longer than `progressAfterMs`. */
  showProgress(): void;
  hideProgress(): void;
}

export interface QuitResult {
  readonly outcome: "stopped" | "failed" | "timed-out";
  readonly error?: string;
  readonly elapsedMs: number;
}

export async function runQuitSequence(
  deps: QuitDeps,
  { timeoutMs = 10_000, progressAfterMs = 500 } = {},
): Promise<QuitResult> {
  const started = performance.now();
  let progressShown = false;
  const progressTimer = setTimeout(() => {
    progressShown = true;
    deps.showProgress();
  }, progressAfterMs);
  let timeoutTimer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timed-out">((resolve) => {
    timeoutTimer = setTimeout(() => resolve("timed-out"), timeoutMs);
  });
  try {
    const result = await Promise.race([deps.stopAll().then(() => "stopped" as const), timeout]);
    return { outcome: result, elapsedMs: performance.now() - started };
  } catch (error) {
    return { outcome: "failed", error: (error as Error).message, elapsedMs: performance.now() - started };
  } finally {
    clearTimeout(progressTimer);
    clearTimeout(timeoutTimer);
    if (progressShown) deps.hideProgress();
  }
}
