import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StartedTunnel } from "../../test-support/cli-process.js";
import {
  type DockerForwardCase,
  type DockerForwardLab,
  useDockerForwardLab,
} from "../../test-support/docker-forward-lab.js";
import { dockerLabUnavailableReason } from "../../test-support/docker-lab.js";
import { listening, service, state, stateSince, up } from "../../test-support/forward-lab.js";

const skip = dockerLabUnavailableReason();
if (skip) console.log(`skipped: forward mode on a real Docker engine: ${skip}`);

/**
 * Forward mode against minikube's node in a real Docker engine, which the host cannot route to
 * (test-support/docker-forward-lab.ts), with each SSH client: the link, its listeners and the Services they follow.
 * Its names: mktunnel-forward-names.integration.test.ts.
 */
describe.skipIf(skip !== null)("mktunnel --mode forward on a real Docker engine", () => {
  let lab!: DockerForwardLab;
  useDockerForwardLab((started) => (lab = started));

  describe.each(["openssh", "openssh-socks", "ssh2"] as const)(
    "over %s, against sshd in minikube's container",
    (client) => {
      let c: DockerForwardCase;
      let tunnel: StartedTunnel | null = null;

      beforeEach(async () => {
        c = await lab.begin();
      });

      afterEach(async () => {
        tunnel?.child.kill("SIGKILL");
        await tunnel?.exited;
        tunnel = null;
        await lab.end();
      });

      const start = (...args: string[]) => (tunnel = c.start(client, ...args));
      /** `docker stop`, and the tunnel's state once it waits for the node. */
      const stopNode = async (t: StartedTunnel) => {
        const from = t.events.length;
        await lab.stopNode();
        return stateSince(t, from, (s) => s.phase === "waiting-for-node", "waiting for the node", 15_000);
      };

      it("adds no route; two Services on port 80 and one on 8080 get distinct loopback IPs (ipMode Proxy), each answering as itself; UDP is reported; stop closes and releases", async () => {
        const t = start();
        await t.ready();
        const up = await state(t, (s) => s.link?.state === "up" && listening(s).length === 3, "three listeners");
        expect(up.mode).toBe("forward");
        // OpenSSH's master carries the bytes, or ssh -D behind our listeners, or ssh2 in this process.
        const upNote = { openssh: "is up (OpenSSH)", "openssh-socks": "is up (OpenSSH, SOCKS)", ssh2: "is up" }[client];
        expect(
          t.events.filter((e) => e.event === "log" && / is up/.test(String(e.message))).map((e) => e.message),
        ).toEqual([expect.stringMatching(new RegExp(`${upNote.replace(/[()]/g, "\\$&")}$`))]);
        expect(up.routes).toEqual([]);
        expect(await lab.hostRoutes()).not.toContain("10.96.0.0/12");

        const [web, api, admin] = [
          await c.externalIpsOf("web"),
          await c.externalIpsOf("api"),
          await c.externalIpsOf("admin"),
        ];
        for (const externalIps of [web, api, admin])
          expect(externalIps).toEqual([
            { ip: expect.stringMatching(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./), ipMode: "Proxy" },
          ]);
        expect(new Set([web[0].ip, api[0].ip, admin[0].ip]).size).toBe(3);

        expect(await lab.connect(web[0].ip, 80)).toBe("web");
        expect(await lab.connect(api[0].ip, 80)).toBe("api");
        expect(await lab.connect(admin[0].ip, 8080)).toBe("admin");
        // UDP's own state is forward mode's UDP handling's to say; here only that the port is reported.
        expect(up.forwards).toContainEqual(expect.objectContaining({ name: "admin", port: 53, protocol: "UDP" }));

        const status = JSON.parse((await c.cli("status", "--json", "--mode", "forward")).stdout);
        expect(status.profiles[0]).toMatchObject({
          mode: "forward",
          routes: [],
          link: { state: "up", endpoint: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
        });
        expect(status.profiles[0].forwards).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ name: "web", address: web[0].ip, port: 80, state: "listening" }),
            expect.objectContaining({ name: "admin", port: 53, protocol: "UDP" }),
          ]),
        );

        expect(await t.stop()).toBe(0);
        expect(await lab.connect(web[0].ip, 80)).toBe("ECONNREFUSED");
        for (const name of ["web", "api", "admin"]) expect(await c.externalIpsOf(name)).toEqual([]);
      });

      it("the node side drops the link: forwards work again within 15 s", async () => {
        const t = start();
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "listeners");
        const web = (await c.externalIpsOf("web"))[0].ip;
        expect(await lab.connect(web, 80)).toBe("web");
        const dropped = Date.now();
        const from = t.events.length;
        await lab.killSessions();
        const down = await stateSince(t, from, (s) => s.link?.state !== "up", "link down", 10_000);
        await stateSince(t, t.events.indexOf(down as never), (s) => s.link?.state === "up", "link up again", 15_000);
        expect(await lab.connect(web, 80)).toBe("web");
        expect(Date.now() - dropped).toBeLessThan(15_000);
      });

      it("`docker stop`, then `docker start`: the node comes back on the new SSH port Docker publishes, and the link follows it", async () => {
        const t = start();
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "listeners");
        const before = lab.engine.sshPort;
        const waiting = await stopNode(t);
        expect(await lab.startNode()).not.toBe(before);
        const back = await stateSince(
          t,
          t.events.indexOf(waiting as never),
          (s) => s.link?.state === "up",
          "link up on the new port",
          15_000,
        );
        expect(back.phase).toBe("active");
        expect(await lab.connect((await c.externalIpsOf("web"))[0].ip, 80)).toBe("web");
      });

      // ssh2's and ssh -D's listeners are ours and stay bound while the link is down; the master's go with it.
      it.runIf(client === "openssh")(
        "a port another program takes while the link is down: the link comes back, and the other Services answer",
        async () => {
          const t = start();
          await t.ready();
          await state(t, (s) => listening(s).length === 3, "listeners");
          const [web, api] = [(await c.externalIpsOf("web"))[0].ip, (await c.externalIpsOf("api"))[0].ip];
          const waiting = await stopNode(t);
          await expect.poll(() => lab.connect(web, 80), { timeout: 5000 }).toBe("ECONNREFUSED");
          await lab.serveOnHost(web, 80, "another program");
          await lab.startNode();
          await stateSince(
            t,
            t.events.indexOf(waiting as never),
            (s) => s.link?.state === "up",
            "link up again",
            15_000,
          );
          expect(await lab.connect(api, 80)).toBe("api");
          expect(await lab.connect(web, 80)).toBe("another program");
          expect(
            t.events.some(
              (e) => e.event === "log" && String(e.message).startsWith(`could not listen again on ${web}:80`),
            ),
          ).toBe(true);
        },
      );

      it("a node presenting another host key is refused and reported, and nothing forwards", async () => {
        await lab.presentOtherHostKey();
        // The node's key files still hold the old key: whoever answers on the port now is not the node we know.
        const t = start();
        const refused = await state(t, (s) => s.link?.state === "refused", "refused link");
        expect(refused.link?.error).toMatch(/^host key mismatch: 127\.0\.0\.1:\d+ presented SHA256:/);
        expect(t.stderr + JSON.stringify(t.events)).toContain("host key mismatch");
        // From another shell, status reads the link's state from the note the tunnel keeps in its lock.
        const fromOutside = async () =>
          JSON.parse((await c.cli("status", "--json", "--mode", "forward")).stdout).profiles[0].link;
        await expect
          .poll(fromOutside, { timeout: 10_000 })
          .toMatchObject({ state: "refused", error: expect.stringMatching(/^host key mismatch: /) });
        await t.ready();
        const web = await state(t, (s) => (s.forwards ?? []).some((f) => f.name === "web"), "web's forward");
        const address = web.forwards!.find((f) => f.name === "web")!.address;
        expect(await lab.connect(address, 80)).not.toBe("web");
      });

      it("the host key comes from the node's own files through docker exec, never from ssh-keyscan of the port (minikube ssh-host), which pins whoever answers there", async () => {
        // An impostor's keys scanned from the published port, as minikube ssh-host would pass them on, are not used.
        await c.fake.setSshHost(
          "minikube",
          "[127.0.0.1]:32772 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG7sgyXUHEpF0I+dp9kAA8iGqHvyYJ1RPb1FcJbZYr4l\n",
        );
        const t = start();
        await t.ready();
        await state(t, (s) => s.link?.state === "up" && listening(s).length === 3, "link up");
        expect(await lab.connect((await c.externalIpsOf("api"))[0].ip, 80)).toBe("api");
      });

      it("follows Services: a new one gets its own address and listener; one that stops being a LoadBalancer loses both", async () => {
        const t = start();
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "three listeners");
        const manifest = join(c.fake.root, "late.yaml");
        await writeFile(manifest, service("late", "10.96.0.23", "  - {name: http, port: 80}\n"));
        await lab.serveOnNode("10.96.0.23", 80, "late");
        const before = t.events.length;
        await c.kubectl("create", "-f", manifest);
        const withLate = await stateSince(
          t,
          before,
          (s) => listening(s).some((f) => f.name === "late"),
          "late's listener",
        );
        const late = withLate.forwards!.find((f) => f.name === "late")!;
        expect(await lab.connect(late.address, 80)).toBe("late");
        const api = up(withLate, "api");
        const patched = t.events.length;
        await c.kubectl("patch", "svc", "api", "-p", '{"spec":{"type":"ClusterIP"}}');
        await stateSince(t, patched, (s) => !(s.forwards ?? []).some((f) => f.name === "api"), "api's listener closed");
        expect(await lab.connect(api, 80)).toBe("ECONNREFUSED");
      });

      it("kill -9 leaves no listener; cleanup, seeing no tunnel lock held, takes the external IPs back", async () => {
        const t = start();
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "three listeners");
        const web = (await c.externalIpsOf("web"))[0].ip;
        // While it runs, cleanup from another shell leaves its IPs alone: the tunnel lock says it is alive.
        const during = JSON.parse((await c.cli("cleanup", "--json")).stdout);
        expect(during.externalIps).toEqual([
          expect.objectContaining({ profile: "minikube", released: [], skipped: "a tunnel for it is running" }),
        ]);
        t.child.kill("SIGKILL");
        await t.exited;
        // OpenSSH's master sees its stdin close with the dead process, and exits with its listeners.
        await expect.poll(() => lab.connect(web, 80), { timeout: 5000 }).toBe("ECONNREFUSED");
        const after = JSON.parse((await c.cli("cleanup", "--json")).stdout);
        expect(after.externalIps).toEqual([
          { profile: "minikube", released: ["default/admin", "default/api", "default/web"], failures: [] },
        ]);
        for (const name of ["web", "api", "admin"]) expect(await c.externalIpsOf(name)).toEqual([]);
      });
    },
  );
});
