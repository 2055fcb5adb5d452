import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../test-support/eventually.js";
import { DEAD, entry } from "../../test-support/forged-entries.js";
import {
  type HelperFiles,
  TestUser,
  createHelperLab,
  destroyHelperLab,
  rawConnection,
  startHelperIn,
} from "../../test-support/helper-lab.js";
import { labUnavailableReason, type NetnsLab } from "../../test-support/netns-lab.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: the helper attacked through root's records: ${skip}`);

/** What minikube does to judge an entry alive (kill(pid, 0), any error = dead), run as the user minikube runs as. */
async function aliveToMinikube(user: TestUser, pid: number): Promise<boolean> {
  const [file, args] = user.as(
    process.execPath,
    "-e",
    `try { process.kill(${pid}, 0); console.log("alive"); } catch { console.log("dead"); }`,
  );
  return (await run(file, args)).stdout.trim() === "alive";
}

/**
 * What root records about the routes it adds, attacked by the helper's user:
 * root's own record, which only root writes, and the entries of the user's
 * tunnels.json, which the user can forge, empty or spoil (docs/security.md,
 * "The root policy"). Each test names the finding it guards against.
 */
describe.skipIf(skip !== null)("the helper attacked by its own user: root's records of its routes", () => {
  let lab: NetnsLab;
  let user: TestUser;
  let files: HelperFiles;
  let call: (o: Record<string, unknown>) => Promise<Record<string, any>>;
  let conn: Awaited<ReturnType<typeof rawConnection>>;
  let ownerPid: number;
  let stopOwner: () => void;
  const helperRuns = () =>
    run("pgrep", ["-f", files.secretFile]).then(
      () => true,
      () => false,
    );

  beforeEach(async () => {
    ({ lab, user, files } = await createHelperLab());
    await startHelperIn(lab.host, files);
    conn = await rawConnection(files.socketPath);
    call = (o) => conn.send(JSON.stringify({ id: 1, secret: files.secret, ...o }));
    const owner = await user.process();
    ownerPid = owner.pid;
    stopOwner = owner.stop;
    expect((await call({ op: "hello", pid: owner.pid })).ok).toBe(true);
  });

  afterEach(() => destroyHelperLab({ lab, user, files }));

  const inHost = (...args: string[]) => run("ip", ["-n", lab.host, ...args]);

  it("cleanup through the helper removes no route root did not record adding: forged dead entries for the default route, a VPN's route, the LAN router's static route or another program's cluster-looking route are all left and reported", async () => {
    await inHost("tuntap", "add", "dev", "tunmkt", "mode", "tun");
    await inHost("link", "set", "tunmkt", "up");
    await inHost("addr", "add", "10.8.0.2/24", "dev", "tunmkt");
    await inHost("route", "add", "10.8.0.0/16", "via", "10.8.0.1", "dev", "tunmkt", "onlink");
    await inHost("route", "add", "default", "via", "192.168.49.254");
    await inHost("route", "add", "10.60.0.0/16", "via", "192.168.49.254");
    // Through the node, as a cluster route would be, but added by another program (another user's tunnel, an
    // administrator).
    await inHost("route", "add", "10.70.0.0/16", "via", lab.nodeIp);
    await writeFile(
      files.registry,
      JSON.stringify([
        entry("0.0.0.0", "AAAAAA==", "192.168.49.254"),
        entry("10.8.0.0", "//8AAA==", "10.8.0.1"),
        entry("10.60.0.0", "//8AAA==", "192.168.49.254"),
        entry("10.70.0.0", "//8AAA==", lab.nodeIp),
      ]),
    );
    await run("chown", [`${user.uid}:${user.gid}`, files.registry]);
    const answer = await call({ op: "cleanup" });
    expect(answer.ok).toBe(true);
    expect(answer.result.removed).toEqual([]);
    expect(answer.result.refused.map((r: { destination: string }) => r.destination)).toEqual([
      "0.0.0.0/0",
      "10.8.0.0/16",
      "10.60.0.0/16",
      "10.70.0.0/16",
    ]);
    expect(answer.result.refused[3].error).toMatch(/root did not add this route.*sudo mktunnel cleanup/);
    const routes = await lab.hostRoutes();
    expect(routes).toContain("default via 192.168.49.254");
    expect(routes).toContain("10.8.0.0/16 via 10.8.0.1 dev tunmkt");
    expect(routes).toContain("10.60.0.0/16 via 192.168.49.254");
    expect(routes).toContain(`10.70.0.0/16 via ${lab.nodeIp}`);
    // The refused entries stay in the user's file for them to see.
    expect(JSON.parse(await readFile(files.registry, "utf8"))).toHaveLength(4);
  });

  it.each([
    ["live, with the client's own pid", () => ownerPid],
    ["dead", () => DEAD],
  ])(
    "an entry (%s) forged for another program's route never makes it this session's: it is reported, and the client going away leaves it",
    async (_what, pid) => {
      await inHost("route", "add", "10.80.0.0/16", "via", lab.nodeIp);
      await writeFile(files.registry, JSON.stringify([entry("10.80.0.0", "//8AAA==", lab.nodeIp, "minikube", pid())]));
      await run("chown", [`${user.uid}:${user.gid}`, files.registry]);
      expect(
        (
          await call({
            op: "declare",
            profile: "minikube",
            nodeIp: lab.nodeIp,
            cidrs: ["10.80.0.0/16"],
            clusterDomain: "cluster.local",
            clusterDnsIp: "",
          })
        ).ok,
      ).toBe(true);
      const [outcome] = (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.80.0.0/16"] }))
        .result;
      expect(outcome).toMatchObject({
        kind: "conflict",
        conflict: { reason: "not-added-by-root", existing: { interface: expect.any(String) } },
      });
      expect(
        (await call({ op: "remove", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.80.0.0/16"] })).error,
      ).toMatch(/not a route this client added/);
      conn.socket.end();
      await eventually(async () => !(await helperRuns()), {
        timeoutMs: 5000,
        what: "the helper to end with its client",
      });
      expect(await lab.hostRoutes()).toContain(`10.80.0.0/16 via ${lab.nodeIp}`);
    },
  );

  it("kill -9 of the helper itself: the same client, back on a new helper, takes its route over, and it still goes when the client does; with the client gone too, the next session takes it back as it starts", async () => {
    expect(
      (
        await call({
          op: "declare",
          profile: "minikube",
          nodeIp: lab.nodeIp,
          cidrs: ["10.90.0.0/16", "10.91.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        })
      ).ok,
    ).toBe(true);
    expect(
      (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.90.0.0/16", "10.91.0.0/16"] }))
        .result,
    ).toEqual([{ kind: "added" }, { kind: "added" }]);
    await run("pkill", ["-KILL", "-f", files.secretFile]);
    await eventually(async () => !(await helperRuns()), { timeoutMs: 5000, what: "the killed helper to be gone" });
    expect(await lab.hostRoutes()).toContain("10.90.0.0/16");
    // The same client on a new helper: its route is root's by root's own record, not by the file's word.
    await startHelperIn(lab.host, files);
    const again = await rawConnection(files.socketPath);
    const send = (o: Record<string, unknown>) => again.send(JSON.stringify({ id: 1, secret: files.secret, ...o }));
    expect((await send({ op: "hello", pid: ownerPid })).ok).toBe(true);
    expect(
      (
        await send({
          op: "declare",
          profile: "minikube",
          nodeIp: lab.nodeIp,
          cidrs: ["10.90.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        })
      ).ok,
    ).toBe(true);
    expect(
      (await send({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.90.0.0/16"] })).result,
    ).toEqual([{ kind: "already-active" }]);
    again.socket.end();
    await eventually(async () => !(await lab.hostRoutes()).includes("10.90.0.0/16"), {
      timeoutMs: 5000,
      what: "the taken-over route to go with its client",
    });
    // 10.91 was left by the killed helper; its client is gone now too: the next session takes it back at its hello,
    // before anything is asked, and its first cleanup says so.
    stopOwner();
    await eventually(async () => !(await helperRuns()), { timeoutMs: 5000, what: "the second helper to end" });
    expect(await lab.hostRoutes()).toContain("10.91.0.0/16");
    await startHelperIn(lab.host, files);
    const third = await rawConnection(files.socketPath);
    const other = await user.process();
    expect((await third.send(JSON.stringify({ id: 1, secret: files.secret, op: "hello", pid: other.pid }))).ok).toBe(
      true,
    );
    expect(await lab.hostRoutes()).not.toContain("10.91.0.0/16");
    const cleanup = await third.send(JSON.stringify({ id: 2, secret: files.secret, op: "cleanup" }));
    expect(cleanup.result.removed).toEqual([
      expect.objectContaining({ destination: "10.91.0.0/16", routeRemoved: true }),
    ]);
    third.socket.end();
  });

  it("a tunnels.json the user made unreadable does not keep root's routes in when the client goes", async () => {
    expect(
      (
        await call({
          op: "declare",
          profile: "minikube",
          nodeIp: lab.nodeIp,
          cidrs: ["10.92.0.0/16"],
          clusterDomain: "cluster.local",
          clusterDnsIp: "",
        })
      ).ok,
    ).toBe(true);
    expect(
      (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.92.0.0/16"] })).result,
    ).toEqual([{ kind: "added" }]);
    await writeFile(files.registry, "{ not json");
    conn.socket.end();
    await eventually(async () => !(await lab.hostRoutes()).includes("10.92.0.0/16"), {
      timeoutMs: 5000,
      what: "root's route to go with its client",
    });
  });

  it("entries carry the client's pid, alive to minikube's own rule while the client runs (the helper's pid would read as dead: EPERM)", async () => {
    await call({
      op: "declare",
      profile: "minikube",
      nodeIp: lab.nodeIp,
      cidrs: ["10.96.0.0/12"],
      clusterDomain: "cluster.local",
      clusterDnsIp: "10.96.0.10",
    });
    expect(
      (await call({ op: "add", profile: "minikube", gateway: lab.nodeIp, cidrs: ["10.96.0.0/12"] })).result,
    ).toEqual([{ kind: "added" }]);
    const [written] = JSON.parse(await readFile(files.registry, "utf8"));
    expect(written.Pid).toBe(ownerPid);
    expect(await aliveToMinikube(user, written.Pid)).toBe(true);
    const helperPid = Number(
      (await run("pgrep", ["-f", "--", `--secret-file ${files.secretFile}`])).stdout.trim().split("\n")[0],
    );
    expect(await aliveToMinikube(user, helperPid)).toBe(false);
    stopOwner();
    await eventually(async () => !(await aliveToMinikube(user, written.Pid)), {
      what: "the client's pid to read as dead",
    });
  });
});
