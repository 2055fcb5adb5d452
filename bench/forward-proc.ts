// The forwarder the forward benchmark measures: forward mode's own link (the SSH client chooseSshClient
// picks, or the one MKTUNNEL_SSH_CLIENT forces) and ForwardListeners, in their own process (bundled, as
// the app runs them). Specs arrive as JSON on stdin; it prints one JSON line once every listener is up,
// then waits to be killed.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ForwardListeners, type ForwardSpec } from "../src/engine/access/forwards/forward-listeners.js";
import { parseHostKeys } from "../src/engine/access/forwards/host-keys.js";
import { chooseSshClient, createForwardLink } from "../src/engine/access/forwards/forward-link.js";

const [sshPort = "", keyPath = "", hostKeysPath = ""] = process.argv.slice(2);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const specs = JSON.parse(input) as ForwardSpec[];
const { link, carrier } = createForwardLink(await chooseSshClient(), async () => ({
  host: "127.0.0.1",
  port: Number(sshPort),
  username: "docker",
  privateKey: readFileSync(keyPath),
  hostKeys: parseHostKeys(readFileSync(hostKeysPath, "utf8")),
}));
await link.start();
// OpenSSH's master is a child of ours and holds the listeners: its memory counts too.
const childrenRss = () => {
  const out = spawnSync("ps", ["--ppid", String(process.pid), "-o", "rss="], { encoding: "utf8" }).stdout;
  return out.split("\n").reduce((sum, kb) => sum + (Number(kb.trim()) || 0) * 1024, 0);
};
const rssBefore = process.memoryUsage().rss + childrenRss();
const listeners = new ForwardListeners(
  carrier,
  () => null,
  (line) => process.stderr.write(`${line}\n`),
);
const started = performance.now();
await listeners.apply(specs);
const applyMs = performance.now() - started;
const listening = listeners.statuses().filter((s) => s.state === "listening").length;
process.stdout.write(
  `${JSON.stringify({ link: link.status().state, applyMs, listening, rssBefore, rssAfter: process.memoryUsage().rss + childrenRss() })}\n`,
);
setInterval(() => undefined, 60_000);
process.on("SIGINT", () => process.exit(0));
