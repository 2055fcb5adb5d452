import { type CommandRunner, CommandNotFoundError, execFileRunner } from "./command-runner.js";

export interface UserIds {
  readonly uid: number;
  readonly gid: number;
}

const NOT_FOUND = "mktunnel-owner-runner: command not found: ";

/**
 * Runs in a fresh Node as root: takes the user's groups, gid and uid (in
 * that order: after setuid nothing else can be changed), then replaces
 * itself with the command (execve keeps the pid, so a timeout's SIGKILL
 * reaches the command itself). HOME, USER and the working directory become
 * the user's, so minikube, docker and their plugins read that user's
 * settings, never root's.
 */
const TRAMPOLINE = `
const [uid, gid, file, ...args] = process.argv.slice(1);
const { accessSync, constants } = require("node:fs");
const { join } = require("node:path");
const { userInfo } = require("node:os");
process.initgroups(Number(uid), Number(gid));
process.setgid(Number(gid));
process.setuid(Number(uid));
const me = userInfo();
const env = { ...process.env, HOME: me.homedir, USER: me.username, LOGNAME: me.username };
delete env.ELECTRON_RUN_AS_NODE;
for (const key of Object.keys(env)) if (key.startsWith("SUDO_")) delete env[key];
try { process.chdir(me.homedir); } catch { process.chdir("/"); }
const runnable = (path) => { try { accessSync(path, constants.X_OK); return true; } catch { return false; } };
const found = file.includes("/") ? (runnable(file) ? file : null) : (env.PATH || "").split(":").filter(Boolean).map((dir) => join(dir, file)).find(runnable);
if (!found) { process.stderr.write(${JSON.stringify(NOT_FOUND)} + file + "\\n"); process.exit(127); }
process.execve(found, [file, ...args], env);
`;

/**
 * Root running a program on a user's behalf (minikube and the container
 * CLI for a MINIPATH that user owns, `cat` for the files their kubeconfig
 * names) runs it as that user: with root's rights, minikube would run
 * driver binaries from MINIPATH/bin and docker the credential helpers of
 * the user's config (docs/security.md, "The root policy", row Commands root runs for a user).
 */
export function runnerAs(user: UserIds, base: CommandRunner = execFileRunner): CommandRunner {
  return {
    async run(file, args, options) {
      const result = await base.run(
        process.execPath,
        ["--no-warnings", "-e", TRAMPOLINE, "--", String(user.uid), String(user.gid), file, ...args],
        options,
      );
      if (result.exitCode === 127 && result.stderr.startsWith(NOT_FOUND)) throw new CommandNotFoundError(file);
      return result;
    },
  };
}

export const isPosixRoot = (): boolean => process.platform !== "win32" && process.getuid?.() === 0;

/** The runner for commands about a MINIPATH: as its owner when root acts for another user (`acting-user.ts`), else directly. */
export function runnerFor(actingUser: UserIds | null, base: CommandRunner = execFileRunner): CommandRunner {
  return actingUser === null || actingUser.uid === 0 ? base : runnerAs(actingUser, base);
}
