// Root's wildcard service in its own process (run in a lab namespace, on the lab's resolved bus): one JSON command a
// line on stdin ({op: "set", profile, entries} | {op: "stale"}), one JSON answer a line on stdout; killed by the test.
import { createInterface } from "node:readline";
import { WildcardNames, WildcardService } from "../src/engine/root/names/wildcard-names.js";
import { markerWriterAlive } from "../src/engine/root/names/writer-liveness.js";

const names = new WildcardNames(new WildcardService(process.argv[2]!));
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { op: "set"; profile: string; entries: never } | { op: "stale" };
  const answer =
    command.op === "set"
      ? await names.set(command.profile, command.entries).catch((e: Error) => ({ error: e.message }))
      : await names.removeStale(markerWriterAlive);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
