#!/usr/bin/env node
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { assertProfileName } from "../shared/profile-name.js";
import { activeProfile, listProfileNames } from "../engine/cluster/profile-config.js";
import { createEngine, type EngineOptions } from "../engine/engine.js";
import { RegistryFile, resetRegistry } from "../engine/registry/registry-file.js";
import { fileAccessFor } from "../engine/root/index.js";
import { allowancesOf, collectText } from "./cli-options.js";
import { registryPath, resolveMiniPath } from "../engine/cluster/minipath.js";
import { IpPool } from "../engine/lb/ip-pool.js";
import { listLoadBalancerServices } from "../engine/lb/lb-listing.js";
import { KubeHttp } from "../engine/kube/kube-http.js";
import { buildStatusReport } from "./status-report.js";
import { listNodePortServices } from "./node-port-status.js";
import { readIngressNames } from "./ingress-status.js";
import { CliError, oneLine } from "./cli-errors.js";
import type { ModeChoice } from "../engine/cluster/access-mode.js";
import { kubeClientsFrom, releaseExternalIpsOfGoneTunnels } from "../engine/tunnels/stale-external-ips.js";
import { removeUdpRelaysOfGoneTunnels } from "../engine/tunnels/stale-udp-relays.js";
import { formatCleanup, formatStatus } from "./format-status.js";
import { runStart } from "./start-command.js";
import { addHelperCommands } from "./helper-command.js";
import { helperRoot, usesHelper } from "./helper-root.js";

function collectProfile(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, assertProfileName(value)];
  } catch (error) {
    throw new InvalidArgumentError(oneLine(error));
  }
}

function parsePool(value: string, previous: string[] = []): string[] {
  try {
    new IpPool([value]).cidrs();
    return [...previous, value];
  } catch (error) {
    throw new InvalidArgumentError(oneLine(error));
  }
}

function parseInterval(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 50)
    throw new InvalidArgumentError(`poll interval "${value}" must be a whole number of milliseconds, at least 50`);
  return n;
}

function engineOptions(globals: { minikube?: string }): EngineOptions {
  return globals.minikube ? { minikubeBinary: globals.minikube } : {};
}

async function profilesOrActive(profiles: string[] | undefined, miniPath: string): Promise<string[]> {
  if (profiles && profiles.length > 0) return profiles;
  return [assertProfileName(await activeProfile(miniPath))];
}

export function buildProgram(): Command {
  const program = new Command("mktunnel")
    .description(
      "Make a minikube cluster's Services, pods and names reachable from this machine (routes or SSH forwards)",
    )
    .option("--minikube <path>", "minikube binary to run (default: minikube on PATH)")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`mktunnel: ${text.replace(/^error: /, "").trim()}\n`) });

  program
    .command("start")
    .description("make the profile's cluster reachable from this machine and keep it in step until SIGINT/SIGTERM")
    .option(
      "-p, --profile <name>",
      "minikube profile (repeat for several; default: the active profile)",
      collectProfile,
    )
    .addOption(
      new Option(
        "--mode <mode>",
        "how to reach the cluster: routes to the node, SSH forwards on loopback addresses, or auto (minikube's rule for the driver)",
      )
        .choices(["auto", "route", "forward"])
        .default("auto"),
    )
    .addOption(
      new Option("--lb-mode <mode>", "LoadBalancer IPs: the Service's ClusterIP, or an IP from --lb-pool")
        .choices(["clusterip", "pool"])
        .default("clusterip"),
    )
    .option(
      "--lb-pool <cidr|start-end>",
      "LoadBalancer pool (repeatable; default: the profile's LoadBalancerStartIP-EndIP); routed too",
      parsePool,
    )
    .option("--lb-class <class>", "loadBalancerClass to serve besides Services without one")
    .option("--no-lb", "do not run the LoadBalancer controller")
    .option("--no-dns", "do not make the cluster's names (svc.ns.svc.cluster.local) resolve on this machine")
    .option("--no-node-ports", "forward mode: do not listen on 127.0.0.1:<nodePort> for the cluster's node ports")
    .option("--no-ingress", "do not make the cluster's Ingress hosts and Gateway hostnames resolve on this machine")
    .option("--keep-lb-ips", "leave assigned external IPs in place on stop")
    .option(
      "--allow-cidr <cidr>",
      "as root: also route this network outside the private ranges (repeatable; a normal user's helper takes it at install)",
      collectText,
    )
    .option(
      "--allow-domain <domain>",
      "as root: also set names under this public domain, e.g. k8s.example.com (repeatable)",
      collectText,
    )
    .option("--json", "print one JSON object per line instead of text")
    .option("--helper", "change routes through the privileged helper even when already root")
    .addOption(
      new Option("--poll-interval <ms>", "how often to re-check the cluster")
        .argParser(parseInterval)
        .default(5000)
        .hideHelp(),
    )
    .action(
      async (opts: {
        profile?: string[];
        mode: ModeChoice;
        lbMode: "clusterip" | "pool";
        lbPool?: string[];
        lbClass?: string;
        lb: boolean;
        dns: boolean;
        nodePorts: boolean;
        ingress: boolean;
        keepLbIps?: boolean;
        json?: boolean;
        helper?: boolean;
        pollInterval: number;
        allowCidr?: string[];
        allowDomain?: string[];
      }) => {
        const allowances = allowancesOf(opts, usesHelper(opts));
        const miniPath = resolveMiniPath();
        const registry = new RegistryFile(registryPath(miniPath), { files: fileAccessFor(miniPath) });
        await registry.readJson();
        const profiles = await profilesOrActive(opts.profile, miniPath);
        const helper = helperRoot(opts, miniPath, registry.path);
        const engine = await createEngine({
          ...engineOptions(program.opts()),
          ...(helper ? { root: helper } : {}),
          ...(allowances ? { allowances } : {}),
        });
        try {
          await runStart(engine, {
            profiles,
            mode: opts.mode,
            names: opts.dns,
            nodePorts: opts.nodePorts,
            ingress: opts.ingress,
            json: opts.json === true,
            pollIntervalMs: opts.pollInterval,
            lb: {
              enabled: opts.lb,
              mode: opts.lbMode,
              pool: opts.lbPool ?? [],
              className: opts.lbClass ?? null,
              releaseOnStop: opts.keepLbIps !== true,
            },
          });
        } finally {
          await engine.root.close();
        }
      },
    );

  program
    .command("status")
    .description("show tunnels, routes with their state, conflicts, and the cluster's Ingress and Gateway names")
    .option("-p, --profile <name>", "minikube profile (repeatable; default: the active profile)", collectProfile)
    .option("--lb-pool <cidr|start-end>", "also report this LoadBalancer pool's routes", parsePool)
    .option("--json", "print JSON")
    .option("--no-probe", "skip the TCP probe of the kubernetes Service")
    .addOption(
      new Option("--mode <mode>", "how the tunnel reaches the cluster (as given to start)")
        .choices(["auto", "route", "forward"])
        .default("auto"),
    )
    .action(
      async (opts: { profile?: string[]; lbPool?: string[]; json?: boolean; probe: boolean; mode: ModeChoice }) => {
        const engine = await createEngine(engineOptions(program.opts()));
        const profiles = await profilesOrActive(opts.profile, engine.miniPath);
        const lbPool = opts.lbPool ? new IpPool(opts.lbPool).cidrs() : undefined;
        const api = async (profile: string) =>
          KubeHttp.fromKubeConfig(await engine.kubeConfig(profile), { timeoutMs: 3000 });
        const services = async (profile: string) => listLoadBalancerServices(await api(profile));
        const nodePortServices = async (profile: string) => {
          const client = await api(profile);
          try {
            return await listNodePortServices(client);
          } finally {
            client.close();
          }
        };
        const ingressNames = async (profile: string) => {
          const client = await api(profile);
          try {
            return await readIngressNames(client);
          } finally {
            client.close();
          }
        };
        const modeOf = async (profile: string) => (await engine.decideMode(profile, opts.mode)).mode;
        const report = await buildStatusReport(engine, profiles, {
          ...(lbPool ? { lbPool } : {}),
          probe: opts.probe,
          services,
          nodePortServices,
          modeOf,
          ingressNames,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
      },
    );

  program
    .command("cleanup")
    .description(
      "remove the routes and registry entries of tunnels whose process is gone (ours or minikube's), and the external IPs they set",
    )
    .option("--json", "print JSON")
    .option("--helper", "clean up through the privileged helper even when already root")
    .action(async (opts: { json?: boolean; helper?: boolean }) => {
      const miniPath = resolveMiniPath();
      const registry = new RegistryFile(registryPath(miniPath), { files: fileAccessFor(miniPath) });
      await registry.readJson();
      const helper = helperRoot(opts, miniPath, registry.path);
      const engine = await createEngine({
        ...engineOptions(program.opts()),
        podCidrSource: null,
        ...(helper ? { root: helper } : {}),
      });
      let report;
      try {
        report = await engine.root.cleanup();
      } finally {
        await engine.root.close();
      }
      // A tunnel killed without stopping also left the external IPs its controller set.
      const externalIps = await releaseExternalIpsOfGoneTunnels(
        engine.registry,
        await listProfileNames(engine.miniPath),
        new Set(),
        kubeClientsFrom(engine.kubeConfig),
        engine.locks,
      );
      // And forward mode's UDP relays beside the node.
      const udpRelays = await removeUdpRelaysOfGoneTunnels(
        engine.miniPath,
        await listProfileNames(engine.miniPath),
        new Set(),
        engine.containers,
        engine.locks,
      );
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ ...report, externalIps, udpRelays }, null, 2)}\n`
          : `${formatCleanup(report, externalIps, udpRelays)}\n`,
      );
      const failed =
        report.failures.length +
        (report.nameFailures?.length ?? 0) +
        externalIps.reduce((n, i) => n + i.failures.length, 0) +
        udpRelays.reduce((n, i) => n + i.failures.length, 0);
      if (failed > 0) throw new CliError(`cleanup could not remove or release ${failed} item(s); see above`, 1);
      // Left on purpose, but still stale: the user should look at them (forged, or another tool's).
      const refused = report.refused?.length ?? 0;
      if (refused > 0)
        throw new CliError(
          `cleanup left ${refused} dead entr${refused === 1 ? "y" : "ies"} whose route root would never have added; see above`,
          1,
        );
    });

  addHelperCommands(program);

  const registry = program.command("registry").description("maintain MINIPATH/tunnels.json");
  registry
    .command("reset")
    .description("move an unreadable tunnels.json aside (kept as a backup) and start an empty one")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (opts: { yes?: boolean }) => {
      const engine = await createEngine({ ...engineOptions(program.opts()), podCidrSource: null });
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw new CliError("registry reset needs --yes when not run on a terminal", 2);
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question(`Move ${engine.registry.path} aside and start an empty registry? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) throw new CliError("registry reset cancelled", 1);
      }
      const backup = await resetRegistry(engine.registry);
      process.stdout.write(
        backup
          ? `kept the unreadable registry as ${backup}; ${engine.registry.path} is now empty\n`
          : `${engine.registry.path} is readable; nothing to reset\n`,
      );
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`mktunnel: ${oneLine(error)}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

const code = await main(process.argv);
process.exitCode = code;
