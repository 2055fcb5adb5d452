#!/usr/bin/env node
/**
 * A stand-in for OpenSSH's `ssh`, for the arguments OpenSshLink and
 * OpenSshSocksLink give it, so the links' lifecycles are tested without sshd,
 * a node or root (src/engine/access/forwards/openssh-link.test.ts,
 * openssh-socks-link.test.ts). It logs in nowhere; `-D`'s SOCKS server
 * connects to its targets from this machine, as the node would from its own.
 *
 * Everything happens in FAKE_SSH_DIR:
 *   calls.jsonl   one JSON line per event (a master or -D session, its exit, a -O request, a -W,
 *                 a SOCKS CONNECT), appended
 *   master-mode   how the next masters and -D sessions behave: "up" (default), "hostkey", or
 *                 "login" (still logging in: never runs the command, lives until ended)
 *   D-taken       how many of the next -D sessions find their port taken (a number)
 *   fail-ports    listen ports whose `-O forward` fails, whitespace-separated
 *   fail-W        `host:port` targets whose `-W` fails, one a line
 *
 * Master mode (`-M -S control … user@host 'echo MARKER; exec cat >/dev/null'`)
 * does what the real one does as seen from outside: makes the control path,
 * runs the command (prints MARKER), and lives while its stdin is open. It
 * exits when stdin closes (the remote cat ends), on SIGTERM, or, as a link
 * that dropped, on SIGUSR1. Mux requests (`-O forward|cancel`, `-W`) fail as
 * ssh does when the control path is missing.
 *
 * Dynamic mode (`-D addr:port … user@host 'echo MARKER; …'`) lives as master
 * mode does, and first listens on addr:port as OpenSSH's SOCKS server does:
 * no authentication, CONNECT only, success at once (before the target is
 * reached), and the connection closed without a word when the target cannot
 * be reached. With `ExitOnForwardFailure=yes`, a port it cannot listen on ends
 * it with OpenSSH's words.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";

const dir = process.env.FAKE_SSH_DIR;
if (!dir) {
  process.stderr.write("fake-ssh: FAKE_SSH_DIR is not set\n");
  process.exit(2);
}

const record = (event) => appendFileSync(`${dir}/calls.jsonl`, `${JSON.stringify({ pid: process.pid, ...event })}\n`);
const readSetting = (name) => (existsSync(`${dir}/${name}`) ? readFileSync(`${dir}/${name}`, "utf8").trim() : "");

// ssh(1)'s options that take a value; the rest used here are plain flags (-M, -T).
const WITH_VALUE = new Set(["-F", "-S", "-o", "-i", "-p", "-L", "-D", "-O", "-W", "-l", "-E", "-b"]);
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

if (option("-M")) session("master");
else if (option("-D")) session("dynamic");
else mux();

async function session(kind) {
  const mode = readSetting("master-mode") || "up";
  record({
    kind,
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
  if (kind === "dynamic") await socksServer(option("-D"));
  else writeFileSync(control, String(process.pid));
  const exit = (why, code) => {
    if (control) rmSync(control, { force: true });
    record({ kind: `${kind}-exit`, why });
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

/** OpenSSH's SOCKS server as `-D` runs it (channels.c): the reply goes out before the channel is open. */
async function socksServer(spec) {
  const at = spec.lastIndexOf(":");
  const [host, port] = [spec.slice(0, at).replace(/^\[|\]$/g, ""), Number(spec.slice(at + 1))];
  const exitOnFailure = settings.ExitOnForwardFailure === "yes";
  const taken = Number(readSetting("D-taken") || 0);
  const refuse = () => {
    process.stderr.write(
      `bind [${host}]:${port}: Address already in use\nchannel_setup_fwd_listener_tcpip: cannot listen to port: ${port}\n`,
    );
    if (exitOnFailure) die("Could not request local forwarding.");
  };
  if (taken > 0) {
    writeFileSync(`${dir}/D-taken`, String(taken - 1));
    return refuse();
  }
  // Half-closes pass through, as a channel's EOF does: a client that has said all can still be answered.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    client.on("error", () => client.destroy());
    let input = Buffer.alloc(0);
    let greeted = false;
    client.on("data", function onData(chunk) {
      input = Buffer.concat([input, chunk]);
      if (!greeted) {
        if (input.length < 2 || input.length < 2 + input[1]) return;
        if (input[0] !== 5 || !input.subarray(2, 2 + input[1]).includes(0)) return void client.destroy();
        input = input.subarray(2 + input[1]);
        greeted = true;
        client.write(Buffer.from([5, 0]));
      }
      if (input.length < 5) return;
      const atyp = input[3];
      const length = atyp === 1 ? 4 : atyp === 4 ? 16 : input[4] + 1;
      if (input.length < 4 + length + 2) return;
      const address = input.subarray(4, 4 + length);
      const target =
        atyp === 1
          ? [...address].join(".")
          : atyp === 4
            ? [...Array(8).keys()].map((i) => address.readUInt16BE(i * 2).toString(16)).join(":")
            : address.subarray(1).toString();
      const targetPort = input.readUInt16BE(4 + length);
      const rest = input.subarray(4 + length + 2);
      client.off("data", onData);
      client.pause();
      client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
      const upstream = connect({ port: targetPort, host: target, allowHalfOpen: true });
      let opened = false;
      upstream.once("connect", () => {
        opened = true;
        record({ kind: "socks", target: `${target}:${targetPort}`, ok: true });
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      upstream.once("error", () => {
        if (opened) return void client.destroy();
        record({ kind: "socks", target: `${target}:${targetPort}`, ok: false });
        client.end();
      });
    });
  });
  await new Promise((resolve) => {
    server.once("error", () => resolve(refuse()));
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
}
