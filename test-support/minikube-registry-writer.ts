// Writes tunnels.json the way minikube's registry.go does, in a loop, until killed:
// read it, toggle an entry of its own, and rewrite the file in place (O_TRUNC, then write),
// keeping only the fields minikube's ID struct has (Route, MachineName, Pid) and taking no lock.
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";

const [path = "", pidText = "777777"] = process.argv.slice(2);
const pid = Number(pidText);
const mine = {
  Route: {
    Gateway: "192.168.49.2",
    DestCIDR: { IP: "10.200.0.0", Mask: "///wAA==" },
    ClusterDomain: "cluster.local",
    ClusterDNSIP: "10.96.0.10",
  },
  MachineName: "other",
  Pid: pid,
};
let writes = 0;
process.on("SIGTERM", () => {
  process.stdout.write(`${writes}\n`);
  process.exit(0);
});

function read(): Record<string, unknown>[] | null {
  try {
    const text = readFileSync(path, "utf8");
    return text.trim() === "" ? [] : ((JSON.parse(text) as Record<string, unknown>[] | null) ?? []);
  } catch {
    return null; // minikube's List fails on a half-written file; its caller gives up this round
  }
}

// A timer between rounds, so SIGTERM is handled.
setInterval(() => {
  const list = read();
  if (list !== null) {
    const has = list.some((e) => e.Pid === pid);
    const next = (has ? list.filter((e) => e.Pid !== pid) : [...list, mine]).map((e) => ({
      Route: e.Route,
      MachineName: e.MachineName,
      Pid: e.Pid,
    }));
    const bytes = Buffer.from(JSON.stringify(next));
    const fd = openSync(path, "w"); // O_WRONLY|O_CREAT|O_TRUNC, as Go's O_RDWR|O_TRUNC
    const half = Math.floor(bytes.length / 2);
    writeSync(fd, bytes, 0, half);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    writeSync(fd, bytes, half);
    closeSync(fd);
    writes++;
  }
}, 3);
