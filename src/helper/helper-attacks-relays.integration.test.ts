import { type ChildProcess, spawn } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../test-support/eventually.js";
import {
  type HelperFiles,
  TestUser,
  createHelperLab,
  destroyHelperLab,
  rawConnection,
  startHelperIn,
} from "../../test-support/helper-lab.js";
import { labUnavailableReason, type NetnsLab } from "../../test-support/netns-lab.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: the helper attacked through relays: ${skip}`);

/**
 * The helper's user, and another user of the machine, as attackers of the
 * ports root relays (forward mode's 80 and 443 on loopback addresses):
 * docs/security.md, "The root policy".
 */
describe.skipIf(skip !== null)("the helper attacked by its own user: relays", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let call: (o: Record<string, unknown>) => Promise<Record<string, any>>;
  let conn: Awaited<ReturnType<typeof rawConnection>>;
  const children: ChildProcess[] = [];

  async function connect(): Promise<void> {
    await startHelperIn(lab.host, files);
    conn = await rawConnection(files.socketPath);
    call = (o) => conn.send(JSON.stringify({ id: 1, secret: files.secret, ...o }));
    const owner = await user.process();
    expect((await call({ op: "hello", pid: owner.pid })).ok).toBe(true);
  }

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
  });
  afterEach(async () => {
    // The squatter runs as nobody, not as the test user whose processes go with the user.
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await destroyHelperLab({ lab, user, files });
  });

  it("another user who takes the relay's target port while the user's listener is down never receives root's relayed traffic", async () => {
    await connect();
    const address = "127.64.0.5";
    expect((await call({ op: "relay", address, port: 80, targetPort: 18080 })).ok).toBe(true);
    // nobody squats the user's port on that address.
    const squatter = `let n=0;require("net").createServer((s)=>{n++;s.end("squatter")}).listen(18080,${JSON.stringify(address)},()=>console.log("up"));process.on("SIGTERM",()=>{console.error("served "+n);process.exit(0)})`;
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.host,
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        process.execPath,
        "-e",
        squatter,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    let served = "";
    child.stderr.on("data", (c: Buffer) => (served += c.toString()));
    await new Promise((resolve) => child.stdout.once("data", resolve));
    expect(await lab.connectFromHost(address, 80)).toBe("");
    child.kill("SIGTERM");
    await eventually(() => served.includes("served"), { what: "the squatter to stop" });
    expect(served.trim()).toBe("served 0");
    // The user's own listener there: relayed.
    const own = `require("net").createServer((s)=>s.end("mine")).listen(18080,${JSON.stringify(address)},()=>console.log("up"))`;
    const [file, args] = user.as(process.execPath, "-e", own);
    const mine = spawn("ip", ["netns", "exec", lab.host, file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(mine);
    await new Promise((resolve) => mine.stdout.once("data", resolve));
    expect(await lab.connectFromHost(address, 80)).toBe("mine");
    mine.kill("SIGKILL");
  });

  it("a client holds at most 64 relays, and none on a system service's port even on loopback (53 is refused, named); 80 and 443 are relayed", async () => {
    await connect();
    const address = "127.64.1.0";
    const own = `const net=require("net");let up=0;for(const p of [18080,18443])net.createServer((s)=>s.end("mine "+p)).listen(p,${JSON.stringify(address)},()=>{if(++up===2)console.log("up")})`;
    const [file, args] = user.as(process.execPath, "-e", own);
    const mine = spawn("ip", ["netns", "exec", lab.host, file, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(mine);
    await new Promise((resolve) => mine.stdout.once("data", resolve));
    expect((await call({ op: "relay", address, port: 80, targetPort: 18080 })).ok).toBe(true);
    expect((await call({ op: "relay", address, port: 443, targetPort: 18443 })).ok).toBe(true);
    expect(await lab.connectFromHost(address, 80)).toBe("mine 18080");
    expect(await lab.connectFromHost(address, 443)).toBe("mine 18443");

    expect((await call({ op: "relay", address, port: 53, targetPort: 18080 })).error).toMatch(
      /^refusing to relay 127\.64\.1\.0:53: port 53 \(DNS\) is a system service's port/,
    );
    expect(await lab.connectFromHost(address, 53)).toBe("ECONNREFUSED");

    for (let i = 1; i <= 62; i++)
      expect((await call({ op: "relay", address: `127.64.1.${i}`, port: 80, targetPort: 18080 })).ok).toBe(true);
    expect((await call({ op: "relay", address: "127.64.1.63", port: 80, targetPort: 18080 })).error).toBe(
      "refusing to relay 127.64.1.63:80: this client already holds 64 relayed ports, the most one session may",
    );
    expect(await lab.connectFromHost("127.64.1.63", 80)).toBe("ECONNREFUSED");
    expect((await call({ op: "unrelay", address: "127.64.1.62", port: 80 })).ok).toBe(true);
    expect((await call({ op: "relay", address: "127.64.1.63", port: 80, targetPort: 18080 })).ok).toBe(true);
    mine.kill("SIGKILL");
  });
});
