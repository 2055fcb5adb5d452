/** Fault switches (DESIGN §7); all off by default. */
export interface Faults {
  /** Fraction of PUT/PATCH/POST writes answered 409 Conflict before they are applied. */
  conflictRate: number;
  /** Fraction of all API requests answered 500. */
  errorRate: number;
  /** Added to every response, in milliseconds. */
  latencyMs: number;
  /** Every watch request is refused with 410 Gone: "http" as the response status, "stream" as an in-stream ERROR event. */
  gone: "off" | "http" | "stream";
}

export function noFaults(): Faults {
  return { conflictRate: 0, errorRate: 0, latencyMs: 0, gone: "off" };
}
