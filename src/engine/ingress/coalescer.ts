/**
 * Runs `run` once, `delayMs` after the first of a burst of pokes: a burst of watch events (200 Ingresses applied at
 * once) gives one recomputation, and no steady stream of events can hold the result back longer than `delayMs`.
 */
export class Coalescer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly run: () => void,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  poke(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, this.delayMs);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
