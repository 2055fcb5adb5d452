// The forwarder the forward benchmark measures: forward mode's own SshLink and ForwardListeners, in
// their own process (bundled, as the app runs them). Specs arrive as JSON on stdin; it prints one
// JSON line once every listener is up, then waits to be killed.
import { readFileSync } from "node:fs";
import { ForwardListeners, type ForwardSpec } from "../src/engine/access/forwards/forward-listeners.js";
import { parseHostKeys } from "../src/engine/access/forwards/host-keys.js";
import { SshLink } from "../src/engine/access/forwards/ssh-link.js";

const [sshPort = "", keyPath = "", hostKeysPath = ""] = process.argv.slice(2);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const specs = JSON.parse(input) as ForwardSpec[];
const link = new SshLink(async () => ({ host: "127.0.0.1", port: Number(sshPort), username: "docker", privateKey: readFileSync(keyPath), hostKeys: parseHostKeys(readFileSync(hostKeysPath, "utf8")) }));
await link.start();
const rssBefore = process.memoryUsage().rss;
const listeners = new ForwardListeners(link, () => null, (line) => process.stderr.write(`${line}\n`));
const started = performance.now();
await listeners.apply(specs);
const applyMs = performance.now() - started;
const listening = listeners.statuses().filter((s) => s.state === "listening").length;
process.stdout.write(`${JSON.stringify({ link: link.status().state, applyMs, listening, rssBefore, rssAfter: process.memoryUsage().rss })}\n`);
setInterval(() => undefined, 60_000);
process.on("SIGINT", () => process.exit(0));
