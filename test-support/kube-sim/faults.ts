/** Fault switches (docs/architecture.md, "Tests"); all off by default. */
export interface Faults {
  /** Fraction of PUT/PATCH/POST writes answered 409 Conflict before they are applied. */
  conflictRate: number;
  /** Fraction of all API requests answered 500. */
  errorRate: number;
  /** Added to every response, in milliseconds. */
  latencyMs: number;
  /**
   * Every watch request is refused with 410 Gone: "http" as the response status, "stream" as an in-stream ERROR event.
   */
  gone: "off" | "http" | "stream";
  /**
   * Fraction of non-watch requests whose connection is reset before any answer, as a kept-alive socket the server
   * already closed.
   */
  resetRate: number;
  /** Every watch is answered 200 and ended at once, with no event. */
  watchEndsAtOnce: boolean;
}

export function noFaults(): Faults {
  return { conflictRate: 0, errorRate: 0, latencyMs: 0, gone: "off", resetRate: 0, watchEndsAtOnce: false };
}
