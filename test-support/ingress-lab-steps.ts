import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { IngressNameStatus } from "../src/engine/access/cluster-access.js";
import { type StartedTunnel, runCli } from "./cli-process.js";
import { inPrivateEtc } from "./private-etc.js";

/**
 * The steps the Ingress-name lab tests share (route and forward mode, wildcards): commands in the lab's host
 * namespace, the tunnel's state events with names, and taking back what a failed test's tunnel left.
 */

const run = promisify(execFile);

/** A `state` event as far as the names tests read it. */
export type NamesState = { event: string; ingresses?: IngressNameStatus[]; gateways?: IngressNameStatus[] };

/** A tunnel a failed test left running: killed, and what it left taken back, so the next test starts from a clean /etc. */
export async function killAndCleanUp(t: StartedTunnel | null, netns: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (!t || t.child.exitCode !== null || t.child.signalCode !== null) return;
  t.child.kill("SIGKILL");
  await t.exited;
  await runCli(netns, ["cleanup", "--json"], env);
}

/**
 * Runs a program in the lab's host namespace (read when called: the lab is made per test) with the private /etc, so
 * glibc reads the hosts file the tunnel writes; its trimmed output, or `exit N` when it fails.
 */
export const inHostOf =
  (netns: () => string) =>
  (file: string, ...args: string[]): Promise<string> => {
    const [cmd, argv] = inPrivateEtc("ip", ["netns", "exec", netns(), file, ...args]);
    return run(cmd, argv).then(
      (r) => r.stdout.trim(),
      (e: { code?: number }) => `exit ${e.code}`,
    );
  };

/** kubectl in the lab's host namespace against kube-sim; a failure says which command and kubectl's stderr. */
export const kubectlOf =
  (netns: () => string, kubeconfig: () => string) =>
  (...args: string[]) =>
    run("ip", ["netns", "exec", netns(), "kubectl", "--kubeconfig", kubeconfig(), ...args]).catch(
      (e: Error & { stderr?: string }) =>
        Promise.reject(new Error(`kubectl ${args.join(" ")}: ${e.stderr ?? e.message}`)),
    );

export const named = (names: readonly IngressNameStatus[], host: string) => names.find((n) => n.host === host);

/** The first state event whose Ingress (or Gateway) names pass `test`, within 20 s. */
export const ingressState = (
  t: StartedTunnel,
  test: (names: IngressNameStatus[]) => boolean,
  what: string,
  kind: "ingresses" | "gateways" = "ingresses",
) =>
  t.waitFor(
    (e) => e.event === "state" && (e as NamesState)[kind] !== undefined && test((e as NamesState)[kind]!),
    20_000,
    what,
  ) as Promise<NamesState>;
