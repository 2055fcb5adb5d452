/** A request root refuses by its policy (docs/security.md, "The root policy"); the message says which rule. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}
