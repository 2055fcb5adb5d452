import { readFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, StartedTunnel } from "../../test-support/cli-process.js";
import { eventually } from "../../test-support/eventually.js";
import { FakeMinikube } from "../../test-support/fake-minikube.js";
import { labUnavailableReason, NetnsLab } from "../../test-support/netns-lab.js";

const skip = labUnavailableReason();
if (skip) console.log(`skipped: mktunnel under hangs and kill -9: ${skip}`);

const POOL = ["172.30.0.0/24", "172.30.1.0/24", "172.30.2.0/24", "172.30.3.0/24", "172.30.4.0/24"];
const OURS = /10\.96\.0\.0\/12|172\.30\.\d\.0\/24/;

describe.skipIf(skip !== null)(
  "nothing external hangs the tunnel, and kill -9 at any moment leaves only what cleanup removes",
  () => {
    let lab: NetnsLab;
    let fake: FakeMinikube;
    const started: StartedTunnel[] = [];

    beforeEach(async () => {
      lab = await NetnsLab.create();
      fake = await FakeMinikube.create();
      await fake.addProfile({ name: "minikube", nodeIp: lab.nodeIp });
    });
    afterEach(async () => {
      for (const t of started) t.child.kill("SIGKILL");
      started.length = 0;
      await lab.destroy();
      await fake.destroy();
    });

    /** Six routes: the service CIDR and five pool networks (no cluster API, so the controller stays off). */
    const start = () => {
      const t = StartedTunnel.start(
        lab.host,
        ["--poll-interval", "200", "--lb-mode", "pool", ...POOL.flatMap((p) => ["--lb-pool", p])],
        fake.env(),
      );
      started.push(t);
      return t;
    };
    const registry = async () => JSON.parse(await readFile(fake.registryPath, "utf8").catch(() => "[]")) as unknown[];

    it("SIGTERM while `minikube status` hangs in the first start: exits 0 at once, adding nothing", async () => {
      await fake.setHang("minikube", "status");
      const tunnel = start();
      // Wait until the tunnel is inside the hung `minikube status`.
      await expect.poll(async () => (await fake.calls()).status ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
      const sent = performance.now();
      expect(await tunnel.stop("SIGTERM")).toBe(0);
      expect(performance.now() - sent).toBeLessThan(3000);
      expect(await lab.hostRoutes()).not.toMatch(OURS);
      expect(await registry()).toEqual([]);
    });

    it("SIGTERM while a running tunnel is stuck in a hung `minikube status`: exits 0 at once and removes its routes", async () => {
      const tunnel = start();
      await tunnel.ready();
      expect(await lab.hostRoutes()).toContain("172.30.4.0/24 via 192.168.49.2");
      // The node stops answering, so the tunnel asks minikube, which hangs.
      await fake.setHang("minikube", "status");
      await lab.setNodeLink(false);
      await tunnel.waitFor((e) => e.event === "log" && String(e.message).includes("does not answer; asking minikube"));
      const sent = performance.now();
      expect(await tunnel.stop("SIGTERM")).toBe(0);
      expect(performance.now() - sent).toBeLessThan(3000);
      expect(await lab.hostRoutes()).not.toMatch(OURS);
      expect(await registry()).toEqual([]);
    });

    it("kill -9 at 20+ random moments of start, and of stop after SIGTERM: cleanup always leaves 0 routes and 0 entries", async () => {
      // Where, in a start, the registry and the routes change (the window a crash can hurt), and how long a stop takes.
      const probe = start();
      const t0 = performance.now();
      await eventually(async () => (await registry()).length > 0, {
        timeoutMs: 20_000,
        everyMs: 2,
        what: "the first registry entry",
      });
      const firstEntryMs = performance.now() - t0;
      await probe.ready();
      const startMs = performance.now() - t0;
      const t1 = performance.now();
      expect(await probe.stop("SIGTERM")).toBe(0);
      const stopMs = performance.now() - t1;
      const trials: string[] = [];
      for (let trial = 0; trial < 24; trial++) {
        const duringStop = trial % 2 === 1;
        const tunnel = start();
        if (duringStop) {
          await tunnel.ready();
          tunnel.child.kill("SIGTERM");
        }
        const at = duringStop
          ? Math.random() * stopMs
          : Math.max(0, firstEntryMs - 30) + Math.random() * (startMs - firstEntryMs + 30);
        // Not a wait for something: the kill lands at a random moment of the window measured above, which is what is
        // tested.
        await new Promise((r) => setTimeout(r, at));
        tunnel.child.kill("SIGKILL");
        await tunnel.exited;
        const leftover = (await lab.hostRoutes()).match(new RegExp(OURS, "g"))?.length ?? 0;
        const cleanup = await runCli(lab.host, ["cleanup", "--json"], fake.env());
        expect(cleanup.code, cleanup.stderr).toBe(0);
        trials.push(`${duringStop ? "stop" : "start"}@${Math.round(at)}ms:${leftover}`);
        expect(await lab.hostRoutes(), `trial ${trial}: ${trials.at(-1)}`).not.toMatch(OURS);
        expect(await registry(), `trial ${trial}`).toEqual([]);
      }
      console.log(
        `[crash] first entry at ${Math.round(firstEntryMs)} ms, ready at ${Math.round(startMs)} ms, stop ${Math.round(stopMs)} ms; kill points (routes left before cleanup): ${trials.join(" ")}`,
      );
      // The kill points must really have fallen inside the window where routes exist.
      expect(trials.some((t) => !t.endsWith(":0"))).toBe(true);
    }, 240_000);
  },
);
