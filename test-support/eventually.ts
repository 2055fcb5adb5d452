/**
 * Waits for a condition instead of sleeping: checks every `everyMs` until
 * `check` passes (a truthy value, which is returned), or fails after
 * `timeoutMs` naming what it waited for and the last error the check threw.
 * Tests never sleep a fixed time; on a busy machine this waits as long as it
 * must and no longer.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; what?: string; everyMs?: number } = {},
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const started = performance.now();
  let last: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Exclude<T, false | null | undefined | 0 | "">;
      last = null;
    } catch (error) {
      last = error;
    }
    if (performance.now() - started > timeoutMs) {
      const why = last ? `; last: ${(last as Error).message ?? String(last)}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}${why}`);
    }
    await new Promise((r) => setTimeout(r, options.everyMs ?? 10));
  }
}

/** How long `check` took to pass, for tests that print a measured figure. */
export async function timeUntil(
  check: () => unknown | Promise<unknown>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<number> {
  const started = performance.now();
  await eventually(async () => (await check()) || false, options);
  return performance.now() - started;
}
