import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { privateEtc } from "../../test-support/private-etc.js";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { portableCopy } from "../../test-support/bundles.js";
import {
  rawConnection,
  startHelperIn,
  TestUser,
  createHelperLab,
  destroyHelperLab,
  type HelperFiles,
} from "../../test-support/helper-lab.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";
import { processStartTime } from "../engine/registry/process-liveness.js";
import { eventually, timeUntil } from "../../test-support/eventually.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: privileged helper tests: ${skip}`);

/** A process's start time as the names marker spells it. */
async function startedOf(pid: number): Promise<string> {
  return (await processStartTime(pid)) ?? "";
}

describe.skipIf(skip !== null)("privileged helper (a real root process in a network namespace)", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    await startHelperIn(lab.host, files);
  });

  afterEach(async () => {
    await destroyHelperLab({ lab, user, files });
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it("serves its user over a 0600 socket in a root-owned directory, and leaves the secret file to the client that made it", async () => {
    const { stat, access } = await import("node:fs/promises");
    const socket = await stat(files.socketPath);
    expect(socket.uid).toBe(user.uid);
    expect(socket.mode & 0o777).toBe(0o600);
    const dir = await stat(files.runtimeDir);
    expect(dir.uid).toBe(0);
    // Root deletes nothing in the user's directories: the client removes its own secret file.
    await expect(access(files.secretFile)).resolves.toBeUndefined();
    const log = await stat(files.logFile);
    expect(log.uid).toBe(user.uid);
  });

  it("a client (as the user) adds routes; kill -9 of the client removes routes and entries within 1 s", async () => {
    // The user runs a copy outside the checkout: the checkout may be in a directory only root can enter.
    const portable = await portableCopy("helper-client-proc");
    cleanups.push(portable.cleanup);
    const [file, args] = user.as(
      portable.node,
      portable.script,
      files.socketPath,
      files.secret,
      lab.nodeIp,
      "10.96.0.0/12",
      "10.244.0.0/24",
    );
    const client = spawn(file, args, { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    client.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: client.stdout }).once("line", resolve);
      client.once("exit", (code) => reject(new Error(`client exited ${code}: ${stderr}`)));
    });
    expect(JSON.parse(first).outcomes).toEqual([{ kind: "added" }, { kind: "added" }]);
    expect(await lab.hostRoutes()).toContain("10.96.0.0/12 via 192.168.49.2");
    const registry = JSON.parse(await readFile(files.registry, "utf8"));
    expect(registry).toHaveLength(2);
    expect((await (await import("node:fs/promises")).stat(files.registry)).uid).toBe(user.uid);

    client.kill("SIGKILL");
    const routesGone = async () => !/10\.96\.0\.0\/12|10\.244\.0\.0\/24/.test(await lab.hostRoutes());
    const entriesGone = async () => JSON.parse(await readFile(files.registry, "utf8")).length === 0;
    const took = await timeUntil(async () => (await routesGone()) && (await entriesGone()), {
      timeoutMs: 1000,
      what: "routes and entries gone",
    });
    console.log(`[helper] routes and entries gone ${Math.round(took)} ms after kill -9 of the client`);
    await eventually(() => !existsSync(files.socketPath), { timeoutMs: 1000, what: "the socket gone" });
    expect(await readFile(files.logFile, "utf8")).toMatch(/client disconnected[\s\S]*removed 10\.96\.0\.0\/12/);
  });

  it("another local user cannot connect", async () => {
    const probe = `require("net").connect(${JSON.stringify(files.socketPath)}).on("connect",()=>{console.log("CONNECTED");process.exit(0)}).on("error",(e)=>{console.log(e.code);process.exit(0)})`;
    const [file, args] = [
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", probe],
    ];
    const out = await new Promise<string>((resolve) => {
      const child = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (c: Buffer) => (text += c.toString()));
      child.on("exit", () => resolve(text.trim()));
    });
    expect(out).toBe("EACCES");
  });

  it("refuses at least 30 hostile requests, leaving routes and registry unchanged", async () => {
    await lab.addHostRoute("10.50.0.0/16", "via", lab.nodeIp); // the user's own route, not in the registry
    const conn = await rawConnection(files.socketPath);
    const auth = (o: Record<string, unknown>) => JSON.stringify({ id: 1, secret: files.secret, ...o });
    expect(
      (await conn.send(auth({ op: "add", profile: "minikube", cidrs: ["10.96.0.0/12"], gateway: lab.nodeIp }))).error,
    ).toMatch(/say hello first/);
    expect((await conn.send(auth({ op: "hello", pid: process.pid }))).error).toMatch(
      /belongs to uid 0, not to the helper's user/,
    );
    const owner = await user.process();
    expect((await conn.send(auth({ op: "hello", pid: owner.pid }))).ok).toBe(true);
    expect(
      (
        await conn.send(
          auth({
            op: "declare",
            profile: "minikube",
            nodeIp: lab.nodeIp,
            cidrs: ["10.96.0.0/12"],
            clusterDomain: "cluster.local",
            clusterDnsIp: "10.96.0.10",
          }),
        )
      ).ok,
    ).toBe(true);
    const routesBefore = await lab.hostRoutes();
    const routes6Before = await lab.hostRoutes(6);
    const metas = [
      "; reboot",
      "$(id)",
      "`id`",
      "| cat /etc/shadow",
      "&& true",
      "\nadd",
      "../../etc",
      "10.96.0.0/12\n0.0.0.0/0",
    ];
    const hostile: [string, string][] = [
      ["no secret", JSON.stringify({ id: 1, op: "ping" })],
      [
        "wrong secret",
        JSON.stringify({
          id: 1,
          secret: "0".repeat(64),
          op: "add",
          profile: "minikube",
          cidrs: ["10.96.0.0/12"],
          gateway: lab.nodeIp,
        }),
      ],
      ["short secret", JSON.stringify({ id: 1, secret: files.secret.slice(0, 10), op: "ping" })],
      ["secret as a number", JSON.stringify({ id: 1, secret: 12345, op: "ping" })],
      ["undeclared CIDR", auth({ op: "add", profile: "minikube", cidrs: ["10.200.0.0/16"], gateway: lab.nodeIp })],
      [
        "gateway not the node IP",
        auth({ op: "add", profile: "minikube", cidrs: ["10.96.0.0/12"], gateway: "192.168.49.1" }),
      ],
      ["undeclared profile", auth({ op: "add", profile: "other", cidrs: ["10.96.0.0/12"], gateway: lab.nodeIp })],
      [
        "declare 0.0.0.0/0",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: lab.nodeIp,
          cidrs: ["0.0.0.0/0"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      [
        "declare default",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: lab.nodeIp,
          cidrs: ["default"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      [
        "declare ::/0",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: "fd00:49::2",
          cidrs: ["::/0"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      [
        "declare a blanket /4",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: lab.nodeIp,
          cidrs: ["0.0.0.0/4"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      [
        "declare loopback",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: lab.nodeIp,
          cidrs: ["127.0.0.0/8"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      [
        "declare link-local",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: lab.nodeIp,
          cidrs: ["169.254.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      [
        "loopback gateway",
        auth({
          op: "declare",
          profile: "evil",
          nodeIp: "127.0.0.1",
          cidrs: ["10.1.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      ["add 0.0.0.0/0", auth({ op: "add", profile: "minikube", cidrs: ["0.0.0.0/0"], gateway: lab.nodeIp })],
      [
        "remove a route not in the registry",
        auth({ op: "remove", profile: "minikube", cidrs: ["10.50.0.0/16"], gateway: lab.nodeIp }),
      ],
      ["path in profile name", auth({ op: "add", profile: "../../etc", cidrs: ["10.96.0.0/12"], gateway: lab.nodeIp })],
      [
        "slash in profile name",
        auth({
          op: "declare",
          profile: "a/b",
          nodeIp: lab.nodeIp,
          cidrs: ["10.96.0.0/12"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        }),
      ],
      ["unknown op", auth({ op: "exec", command: "id" })],
      ["extra field", auth({ op: "ping", shell: true })],
      ["malformed JSON", "{not json"],
      ["JSON array", "[1,2,3]"],
      ["JSON null", "null"],
      ["oversized request", auth({ op: "ping", pad: "x".repeat(2_200_000) })],
      ["relay on 127.0.0.1", auth({ op: "relay", address: "127.0.0.1", port: 80, targetPort: 8080 })],
      ["relay on the resolver's address", auth({ op: "relay", address: "127.0.0.53", port: 53, targetPort: 5353 })],
      ["relay on a routed address", auth({ op: "relay", address: "192.168.49.1", port: 22, targetPort: 2222 })],
      ["relay of a high port", auth({ op: "relay", address: "127.64.0.5", port: 8080, targetPort: 9090 })],
      ["relay to a privileged port", auth({ op: "relay", address: "127.64.0.5", port: 80, targetPort: 22 })],
      ["alias outside the forward range", auth({ op: "alias", address: "10.0.0.1", present: true })],
      ["removing an alias it did not add", auth({ op: "alias", address: "127.64.0.9", present: false })],
      [
        "a hosts line smuggled in a name",
        auth({
          op: "names-hosts",
          profile: "minikube",
          entries: [{ ip: "127.64.0.5", names: ["web.default\n1.2.3.4 evil.com"] }],
        }),
      ],
      [
        "names for an undeclared profile",
        auth({ op: "names-hosts", profile: "other", entries: [{ ip: "127.64.0.5", names: ["web.default"] }] }),
      ],
      ["a second hello", auth({ op: "hello", pid: owner.pid })],
      [
        "DNS for an undeclared profile",
        auth({
          op: "names-dns",
          profile: "other",
          dns: { domain: "cluster.local", server: "10.96.0.10", gateway: lab.nodeIp },
        }),
      ],
      ...metas.map((m): [string, string] => [
        `metacharacters in cidr: ${JSON.stringify(m)}`,
        auth({ op: "add", profile: "minikube", cidrs: [`10.96.0.0/12${m}`], gateway: lab.nodeIp }),
      ]),
      ...metas.map((m): [string, string] => [
        `metacharacters in gateway: ${JSON.stringify(m)}`,
        auth({ op: "add", profile: "minikube", cidrs: ["10.96.0.0/12"], gateway: `${lab.nodeIp}${m}` }),
      ]),
      ...metas.map((m): [string, string] => [
        `metacharacters in profile: ${JSON.stringify(m)}`,
        auth({ op: "add", profile: `minikube${m}`, cidrs: ["10.96.0.0/12"], gateway: lab.nodeIp }),
      ]),
      ...metas.map((m): [string, string] => [
        `metacharacters in domain: ${JSON.stringify(m)}`,
        auth({
          op: "declare",
          profile: "minikube",
          nodeIp: lab.nodeIp,
          cidrs: ["10.96.0.0/12"],
          clusterDomain: `cluster.local${m}`,
          clusterDnsIp: "",
        }),
      ]),
    ];
    expect(hostile.length).toBeGreaterThanOrEqual(30);
    for (const [what, payload] of hostile) {
      const response = await conn.send(payload);
      expect(response.ok, what).toBe(false);
      expect(typeof response.error, what).toBe("string");
    }
    expect(await lab.hostRoutes()).toBe(routesBefore);
    expect(await lab.hostRoutes(6)).toBe(routes6Before);
    await expect(readFile(files.registry, "utf8")).rejects.toThrow(); // never written
    // The channel still works for a proper request after all that.
    expect(
      await conn.send(auth({ op: "add", profile: "minikube", cidrs: ["10.96.0.0/12"], gateway: lab.nodeIp })),
    ).toMatchObject({ ok: true, result: [{ kind: "added" }] });
    expect(
      await conn.send(auth({ op: "remove", profile: "minikube", cidrs: ["10.96.0.0/12"], gateway: lab.nodeIp })),
    ).toMatchObject({ ok: true, result: [{ kind: "removed" }] });
    expect(await lab.hostRoutes()).toContain("10.50.0.0/16 via 192.168.49.2");
    // A names request: the names root may write go in a block of the client's (this test's private /etc); the rest are
    // dropped one by one, never the batch.
    const hostsBefore = await readFile(join(privateEtc(), "hosts"), "utf8");
    const names = await conn.send(
      auth({
        op: "names-hosts",
        profile: "minikube",
        entries: [
          { ip: "10.96.0.20", names: ["web.default.svc.cluster.local", "web.default"] },
          { ip: "127.64.0.5", names: ["github.com", "web.default.svc.example.com"] },
          { ip: "203.0.113.9", names: ["api.default.svc.cluster.local"] },
        ],
      }),
    );
    expect(names).toMatchObject({ ok: true, result: { written: 1 } });
    expect(names.result.dropped.map((d: { name: string }) => d.name)).toEqual([
      "github.com",
      "web.default.svc.example.com",
      "api.default.svc.cluster.local",
    ]);
    expect(await readFile(join(privateEtc(), "hosts"), "utf8")).toBe(
      `${hostsBefore}# BEGIN minikube-tunnel profile=minikube pid=${owner.pid} started=${await startedOf(owner.pid)}\n10.96.0.20 web.default.svc.cluster.local web.default\n# END minikube-tunnel profile=minikube\n`,
    );
    conn.socket.end();
    await eventually(() => !existsSync(files.socketPath), { timeoutMs: 2000, what: "the socket gone" });
    expect(await lab.hostRoutes()).toContain("10.50.0.0/16 via 192.168.49.2");
    expect(await readFile(join(privateEtc(), "hosts"), "utf8")).toBe(hostsBefore);
  });

  it("refuses a second client while the first is connected", async () => {
    const first = await rawConnection(files.socketPath);
    expect((await first.send(JSON.stringify({ id: 1, secret: files.secret, op: "ping" }))).result).toBe("pong");
    const second = await rawConnection(files.socketPath);
    const refusal = await new Promise<string>((resolve) => second.socket.once("data", (d) => resolve(d.toString())));
    expect(JSON.parse(refusal)).toMatchObject({ ok: false, error: "the helper already has a client" });
    first.socket.end();
  });
});
