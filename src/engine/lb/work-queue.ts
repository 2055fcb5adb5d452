/**
 * Keyed work queue as controllers use it: a key waits at most once, is never
 * handled by two workers at the same time, and is handled again if it changed
 * while being handled.
 */
export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly failureCounts = new Map<string, number>();
  private running = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly idleListeners: (() => void)[] = [];

  constructor(
    private readonly handle: (key: string) => Promise<void>,
    private readonly concurrency: number,
  ) {}

  add(key: string): void {
    if (this.closed) return;
    const timer = this.delayed.get(key);
    if (timer) {
      clearTimeout(timer);
      this.delayed.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.waiting.add(key);
    this.pump();
  }

  /** Re-queue after a delay, counting the failure for the caller's backoff. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    this.failureCounts.set(key, (this.failureCounts.get(key) ?? 0) + 1);
    if (this.delayed.has(key)) return;
    this.delayed.set(
      key,
      setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, ms),
    );
  }

  failures(key: string): number {
    return this.failureCounts.get(key) ?? 0;
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.size > 0) {
      const key = this.waiting.values().next().value as string;
      this.waiting.delete(key);
      this.active.add(key);
      this.running++;
      this.handle(key)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.active.delete(key);
          if (this.dirty.delete(key)) this.waiting.add(key);
          else if (!this.delayed.has(key)) this.failureCounts.delete(key);
          this.pump();
          this.checkIdle();
        });
    }
    this.checkIdle();
  }

  /** True when nothing waits to be handled now (delayed retries do not count). */
  get quiet(): boolean {
    return this.waiting.size === 0 && this.running === 0;
  }

  /** Called every time the queue becomes quiet. */
  onQuiet(listener: () => void): void {
    this.idleListeners.push(listener);
  }

  private checkIdle(): void {
    if (this.quiet) for (const listener of this.idleListeners) listener();
    if (this.running === 0 && this.waiting.size === 0 && this.delayed.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /** Stops taking work, drops delayed retries, and waits for what is running. */
  async drain(): Promise<void> {
    this.closed = true;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.waiting.clear();
    await this.idle();
  }
}
