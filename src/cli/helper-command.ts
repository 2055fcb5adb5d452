import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import {
  type HelperSources,
  installHelper,
  readHelperConfig,
  uninstallHelper,
} from "../engine/elevation/helper-installer.js";
import { helperLayout } from "../engine/elevation/helper-layout.js";
import { installedHelperAnswers } from "../engine/elevation/installed-helper-client.js";
import { CliError } from "./cli-errors.js";
import { allowancesOf, collectText } from "./cli-options.js";

/** The runtime and bundles this mktunnel runs from: what install copies. Only a bundled CLI can be installed. */
function sourcesOfThisCli(): HelperSources {
  const cli = fileURLToPath(import.meta.url);
  const helper = join(dirname(cli), "helper-main.mjs");
  if (!cli.endsWith(".mjs") || !existsSync(helper)) {
    throw new CliError(
      "install runs from the bundled CLI (npm run build:bundles, then sudo node dist/helper-bundle/mktunnel.mjs helper install), so the helper it copies is one file",
      2,
    );
  }
  // koffi (flock) is left out of the bundles: its native part is loaded at run time, from beside them.
  const require = createRequire(cli);
  const packages = ["koffi", `@koromix/koffi-${process.platform}-${process.arch}`].flatMap((name) => {
    const dir = packageDir(require, name);
    return dir ? [{ name, dir }] : [];
  });
  return { runtime: process.execPath, cli, helper, packages };
}

/**
 * A package's directory: its entry resolved, then up to the package.json that names it (exports may hide package.json).
 */
function packageDir(require: NodeJS.Require, name: string): string | null {
  let dir: string;
  try {
    dir = dirname(require.resolve(name));
  } catch {
    return null;
  }
  for (; dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === name)
      return dir;
  }
  return null;
}

/**
 * Whom install serves unless told: on POSIX the user who ran sudo; on Windows, where UAC elevates the same account,
 * the account itself (an administrator elevating for another user, over the shoulder, names that user with --user).
 */
function invokingUser(): string | undefined {
  return process.platform === "win32" ? process.env.USERNAME : process.env.SUDO_USER;
}

/** `mktunnel helper install|status|uninstall|run` (docs/architecture.md, "The installed helper"). */
export function addHelperCommands(program: Command): void {
  const helper = program
    .command("helper")
    .description("install the network helper once, so that nobody is asked for a password again");

  helper
    .command("install")
    .description(
      "copy the helper into a root-owned place, register the system service, and record who may use it (needs root)",
    )
    .option("--user <name>", "the user the helper serves (default: the user who ran sudo; on Windows, this user)")
    .option("--prefix <dir>", "put every file under this directory (packagers, tests)", "/")
    .option("--no-start", "write the files without asking the service manager to start anything")
    .option(
      "--allow-cidr <cidr>",
      "also let the helper route this network, outside the private ranges (repeatable)",
      collectText,
    )
    .option(
      "--allow-domain <domain>",
      "also let the helper set names under this domain of the public DNS, e.g. a company's k8s.example.com (repeatable)",
      collectText,
    )
    .action(
      async (opts: { user?: string; prefix: string; start: boolean; allowCidr?: string[]; allowDomain?: string[] }) => {
        const user = opts.user ?? invokingUser();
        if (!user)
          throw new CliError(
            process.platform === "win32"
              ? "--user is needed (USERNAME is not set)"
              : "--user is needed when not run through sudo",
            2,
          );
        const allow = allowancesOf(opts, false);
        const result = await installHelper({
          prefix: opts.prefix,
          user,
          noStart: !opts.start,
          sources: sourcesOfThisCli(),
          ...(allow ? { allow } : {}),
        });
        process.stdout.write(
          `${result.upgradedFrom ? `upgraded the helper from ${result.upgradedFrom} to ${result.version}` : `installed the helper ${result.version}`} for ${user}${result.started ? ", and started it" : " (not started)"}\n`,
        );
        for (const file of result.files) process.stdout.write(`  ${file}\n`);
      },
    );

  helper
    .command("status")
    .description("whether the helper is installed and running, its version and its files")
    .option("--json", "print JSON")
    .option("--prefix <dir>", "where it was installed", "/")
    .action(async (opts: { json?: boolean; prefix: string }) => {
      const config = await readHelperConfig(opts.prefix);
      const report = {
        installed: config !== null,
        running: await installedHelperAnswers(),
        version: config?.version ?? null,
        user: config?.user ?? null,
        files: config?.files ?? [],
      };
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(report, null, 2)}\n`
          : `${report.installed ? `installed, version ${report.version}, for ${report.user}` : "not installed"}; ${report.running ? "running" : "not running"}\n`,
      );
    });

  helper
    .command("uninstall")
    .description("stop the service and remove every file install put in place (needs root)")
    .option("--prefix <dir>", "where it was installed", "/")
    .action(async (opts: { prefix: string }) => {
      const removed = await uninstallHelper(opts.prefix);
      process.stdout.write(
        removed.length === 0 ? "the helper is not installed\n" : `removed ${removed.length} files\n`,
      );
    });

  helper
    .command("run")
    .description("run the installed helper in the foreground (what the system service runs)")
    .option("--prefix <dir>", "where it was installed", "/")
    .action(async (opts: { prefix: string }) => {
      const layout = helperLayout(opts.prefix);
      if (!existsSync(layout.config)) throw new CliError(`the helper is not installed under ${opts.prefix}`, 1);
      const child = spawn(process.execPath, [layout.helper, "--daemon", "--config", layout.config], {
        stdio: "inherit",
      });
      for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => child.kill(signal));
      const code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
      if (code !== 0) throw new CliError(`the helper exited with code ${code}`, code);
    });
}
