#!/usr/bin/env node
/**
 * A stand-in for OpenSSH's `ssh`, for the arguments OpenSshLink gives it, so
 * the link's lifecycle is tested without sshd, a node or root
 * (src/engine/access/forwards/openssh-link.test.ts). It connects nowhere.
 *
 * Everything happens in FAKE_SSH_DIR:
 *   calls.jsonl   one JSON line per event (a master, its exit, a -O request, a -W), appended
 *   master-mode   how the next masters behave: "up" (default), "hostkey", or "login"
 *                 (still logging in: never runs the command, lives until ended)
 *   fail-ports    listen ports whose `-O forward` fails, whitespace-separated
 *   fail-W        `host:port` targets whose `-W` fails, one a line
 *
 * Master mode (`-M -S control … user@host 'echo MARKER; exec cat >/dev/null'`)
 * does what the real one does as seen from outside: makes the control path,
 * runs the command (prints MARKER), and lives while its stdin is open. It
 * exits when stdin closes (the remote cat ends), on SIGTERM, or, as a link
 * that dropped, on SIGUSR1. Mux requests (`-O forward|cancel`, `-W`) fail as
 * ssh does when the control path is missing.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const dir = process.env.FAKE_SSH_DIR;
if (!dir) {
  process.stderr.write("fake-ssh: FAKE_SSH_DIR is not set\n");
  process.exit(2);
}

const record = (event) => appendFileSync(`${dir}/calls.jsonl`, `${JSON.stringify({ pid: process.pid, ...event })}\n`);
const readSetting = (name) => (existsSync(`${dir}/${name}`) ? readFileSync(`${dir}/${name}`, "utf8").trim() : "");

// ssh(1)'s options that take a value; the rest used here are plain flags (-M, -T).
const WITH_VALUE = new Set(["-F", "-S", "-o", "-i", "-p", "-L", "-O", "-W", "-l", "-E", "-b"]);
const args = process.argv.slice(2);
const options = [];
const rest = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (rest.length === 0 && arg.startsWith("-")) options.push(WITH_VALUE.has(arg) ? [arg, args[++i]] : [arg, true]);
  else rest.push(arg);
}
const option = (name) => options.find(([n]) => n === name)?.[1];
const all = (name) => options.filter(([n]) => n === name).map(([, v]) => v);
const settings = Object.fromEntries(all("-o").map((o) => o.split("=", 2)));
const control = option("-S");
const [destination, ...command] = rest;

function die(message, code = 255) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (option("-M")) master();
else mux();

function master() {
  const mode = readSetting("master-mode") || "up";
  record({
    kind: "master",
    args,
    mode,
    keyPresent: existsSync(option("-i")),
    knownHosts: readFileSync(settings.UserKnownHostsFile, "utf8"),
  });
  if (mode === "hostkey") {
    // What ssh prints with StrictHostKeyChecking=yes when the pinned key is not the one presented.
    die(
      [
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
        "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
        "The fingerprint for the ED25519 key sent by the remote host is",
        "SHA256:fakeFingerprint0123456789abcdefghijklmnopqr.",
        `Host key for ${settings.HostKeyAlias} has changed and you have requested strict checking.`,
        "Host key verification failed.",
      ].join("\n"),
    );
  }
  writeFileSync(control, String(process.pid));
  const exit = (why, code) => {
    rmSync(control, { force: true });
    record({ kind: "master-exit", why });
    process.exit(code);
  };
  process.on("SIGTERM", () => exit("SIGTERM", 255));
  process.on("SIGUSR1", () => {
    process.stderr.write(`Connection to ${destination.split("@").pop()} closed by remote host.\n`);
    exit("dropped", 255);
  });
  // The remote command, as sshd's shell would run its first part: `echo MARKER`.
  const echo = /^echo (\S+);/.exec(command.join(" "));
  if (echo && mode !== "login") process.stdout.write(`${echo[1]}\n`);
  process.stdin.on("data", () => undefined);
  process.stdin.on("end", () => exit("stdin closed", 0));
}

function mux() {
  if (!control || !existsSync(control)) die(`Control socket connect(${control}): No such file or directory`);
  const forwardTo = option("-W");
  if (forwardTo) {
    const failing = readSetting("fail-W").split("\n");
    const ok = !failing.includes(forwardTo);
    record({ kind: "W", target: forwardTo, ok });
    if (!ok) die("channel 0: open failed: connect failed: Connection refused\nstdio forwarding failed");
    process.exit(0);
  }
  const op = option("-O");
  const specs = all("-L");
  const failing = new Set(readSetting("fail-ports").split(/\s+/).filter(Boolean));
  const ok = specs.every((spec) => !failing.has(/^(?:\[[^\]]+\]|[^:]+):(\d+):/.exec(spec)?.[1]));
  record({ kind: op, specs, ok });
  if (!ok) die("mux_client_forward: forwarding request failed: Port forwarding failed");
  process.exit(0);
}
