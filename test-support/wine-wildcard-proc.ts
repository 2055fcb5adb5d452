// Runs in Windows' own Node under Wine (wine-wildcard.integration.test.ts): root's DNS responder for wildcard names
// (root/names/wildcard-names.ts) with Windows' router, as on Windows: NRPT rules through powershell.exe (the lab's
// fake of the DnsClient cmdlets), a record in root's runtime directory. Sets *.shop.test, asks its own responder for
// cart.shop.test, reports to <out>; with `set-clear` takes it back and reports again; with `set` it exits leaving the
// rule and record for cleanup to find once this process is gone.
//   <set|set-clear> <out> <port>
import { createSocket } from "node:dgram";
import { writeFileSync } from "node:fs";
import * as dnsPacket from "dns-packet";
import { defaultRuntimeDir } from "../src/engine/elevation/elevation.js";
import { WildcardService } from "../src/engine/root/names/wildcard-names.js";

const [mode = "", out = "", port = "0"] = process.argv.slice(2);

function lookup(name: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => (socket.close(), reject(new Error("no answer"))), 5000);
    socket.once("message", (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve((dnsPacket.decode(reply).answers ?? []).map((a) => ("data" in a ? String(a.data) : a.type)));
    });
    socket.send(
      dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] }),
      Number(port),
      "127.64.255.255",
    );
  });
}

const seen: { set?: unknown; answers?: string[]; cleared?: unknown } = {};
try {
  const service = new WildcardService(process.env.MKTUNNEL_RUNTIME_DIR || defaultRuntimeDir(), "win32", {
    port: Number(port),
  });
  seen.set = await service.set("s1/minikube", [{ pattern: "*.shop.test", ip: "127.70.255.9", reach: "one-label" }]);
  seen.answers = await lookup("cart.shop.test");
  if (mode === "set-clear") seen.cleared = await service.set("s1/minikube", null);
  writeFileSync(out, `${JSON.stringify(seen)}\n`);
} catch (error) {
  writeFileSync(out, `${JSON.stringify({ ...seen, error: (error as Error).stack })}\n`);
}
// `set` leaves the responder as a crash would: the process ends without taking anything back.
process.exit(0);
