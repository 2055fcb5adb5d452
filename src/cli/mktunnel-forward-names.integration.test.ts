import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type StartedTunnel, runCli } from "../../test-support/cli-process.js";
import type { FakeMinikube } from "../../test-support/fake-minikube.js";
import {
  type ForwardLab,
  createForwardLab,
  destroyForwardLab,
  listening,
  state,
  startForwardTunnel,
} from "../../test-support/forward-lab.js";
import { type NetnsLab, labUnavailableReason } from "../../test-support/netns-lab.js";
import { inPrivateEtc, privateEtc } from "../../test-support/private-etc.js";

const run = promisify(execFile);
const skip = labUnavailableReason();
if (skip) console.log(`skipped: forward mode's names in network namespaces: ${skip}`);

/** Forward mode's cluster names, against a node the host cannot route to (test-support/forward-lab.ts). */
describe.skipIf(skip !== null).each(["openssh", "ssh2"] as const)(
  "mktunnel --mode forward over %s, against sshd in a lab node",
  (client) => {
    let forward: ForwardLab;
    let lab: NetnsLab;
    let fake: FakeMinikube;
    let kubeconfig: string;
    let externalIpsOf: ForwardLab["externalIpsOf"];
    let tunnel: StartedTunnel | null = null;

    beforeEach(async () => {
      forward = await createForwardLab();
      ({ lab, fake, kubeconfig, externalIpsOf } = forward);
    });

    afterEach(async () => {
      tunnel?.child.kill("SIGKILL");
      tunnel = null;
      await destroyForwardLab(forward);
    });

    const start = (...args: string[]) => (tunnel = startForwardTunnel(forward, client, ...args));

    describe("cluster names through the hosts file (a private /etc, as the real resolver reads it)", () => {
      const inHost = (file: string, ...args: string[]) => {
        const [cmd, argv] = inPrivateEtc("ip", ["netns", "exec", lab.host, file, ...args]);
        return run(cmd, argv).then(
          (r) => r.stdout.trim(),
          (e: { stdout?: string; code?: number }) => `exit ${e.code}: ${e.stdout ?? ""}`.trim(),
        );
      };
      const hostsPath = () => join(privateEtc(), "hosts");

      it("getent and curl reach each Service by name; the lines already there stay byte for byte; stop removes the block", async () => {
        const before = await readFile(hostsPath(), "utf8");
        const t = start();
        await t.ready();
        const on = await state(
          t,
          (s) =>
            listening(s).length === 3 &&
            (s as { names?: { state: string; example?: string } }).names?.example === "admin.default.svc.cluster.local",
          "names on for all three",
        );
        expect((on as { names?: object }).names).toMatchObject({
          state: "on",
          domain: "cluster.local",
          how: "hosts file",
          example: "admin.default.svc.cluster.local",
        });
        const web = (await externalIpsOf("web"))[0].ip;
        expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toMatch(
          new RegExp(`^${web.replace(/\./g, "\\.")}\\s+web\\.default\\.svc\\.cluster\\.local web\\.default$`),
        );
        expect(
          await inHost("curl", "-s", "--http0.9", "--max-time", "5", "http://web.default.svc.cluster.local/"),
        ).toBe("web");
        expect(await inHost("curl", "-s", "--http0.9", "--max-time", "5", "http://api.default/")).toBe("api");
        const during = await readFile(hostsPath(), "utf8");
        expect(during.startsWith(before)).toBe(true);
        expect(during.slice(before.length)).toMatch(
          /^# BEGIN minikube-tunnel profile=minikube pid=\d+ started=\S+\n(127\.\S+ \S+\.default\.svc\.cluster\.local \S+\.default\n){3}# END minikube-tunnel profile=minikube\n$/,
        );
        expect(await t.stop()).toBe(0);
        expect(await readFile(hostsPath(), "utf8")).toBe(before);
        expect(await inHost("getent", "hosts", "web.default.svc.cluster.local")).toBe("exit 2:");
      });

      it("after kill -9, cleanup removes the block the dead tunnel left", async () => {
        const before = await readFile(hostsPath(), "utf8");
        const t = start();
        await t.ready();
        await state(
          t,
          (s) => (s as { names?: { state: string; example?: string } }).names?.example !== undefined,
          "names on",
        );
        t.child.kill("SIGKILL");
        await t.exited;
        expect(await readFile(hostsPath(), "utf8")).not.toBe(before);
        const cleanup = JSON.parse(
          (await runCli(lab.host, ["cleanup", "--json"], fake.env({ KUBECONFIG: kubeconfig }))).stdout,
        );
        expect(cleanup.names).toEqual(["hosts block of minikube"]);
        expect(await readFile(hostsPath(), "utf8")).toBe(before);
      });

      it("--no-dns leaves the hosts file alone", async () => {
        const before = await readFile(hostsPath(), "utf8");
        const t = start("--no-dns");
        await t.ready();
        await state(t, (s) => listening(s).length === 3, "listeners");
        expect(await readFile(hostsPath(), "utf8")).toBe(before);
        expect(await t.stop()).toBe(0);
      });
    });
  },
);
