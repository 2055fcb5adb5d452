// Runs in Windows' own Node under Wine (wine-cli.integration.test.ts): root's hosts writer (root/names/hosts-file.ts)
// on Windows' hosts file at its default path, as this process: writes the profile's block, reports the file's bytes
// (base64) to <out>, then with `write-remove` removes the block again and reports again; with `write` it leaves the
// block for cleanup to find once this process is gone.
//   <write|write-remove> <out>
import { readFileSync, writeFileSync } from "node:fs";
import { currentProcessIdentity } from "../src/engine/registry/process-liveness.js";
import { HostsFile, defaultHostsPath } from "../src/engine/root/names/hosts-file.js";

const [mode = "", out = ""] = process.argv.slice(2);
const seen: { path: string; written?: string; removed?: string } = { path: defaultHostsPath() };
const bytes = () => readFileSync(seen.path).toString("base64");
try {
  const self = await currentProcessIdentity();
  const owner = { profile: "minikube", pid: self.pid, started: self.startTime ?? "" };
  const hosts = new HostsFile();
  await hosts.set(owner, [{ ip: "127.64.0.1", names: ["web.default.svc.cluster.local", "web.default"] }]);
  seen.written = bytes();
  if (mode === "write-remove") {
    await hosts.set(owner, null);
    seen.removed = bytes();
  }
  writeFileSync(out, `${JSON.stringify(seen)}\n`);
} catch (error) {
  writeFileSync(out, `${JSON.stringify({ error: (error as Error).stack })}\n`);
}
