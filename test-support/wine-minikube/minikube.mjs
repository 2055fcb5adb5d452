// The fake minikube of test-support/fake-minikube.ts for Windows' Node (run by minikube.exe beside it): `status -o
// json`, `ip`, `profile list -o json` and `ssh-host` answered from files a test writes in FAKE_MINIKUBE_STATE, with
// minikube's exit codes (status exits 7 when the host is stopped, and still prints JSON; ip exits 80).
import { appendFileSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const state = process.env.FAKE_MINIKUBE_STATE;
const [command, ...rest] = process.argv.slice(2);
let profile = "minikube";
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "-p" || rest[i] === "--profile") profile = rest[++i];
  else if (rest[i].startsWith("--profile=")) profile = rest[i].slice("--profile=".length);
}
const read = (name) => {
  try {
    return readFileSync(join(state, name), "utf8");
  } catch {
    return null;
  }
};
// Written with writeSync: a descriptor of the launcher's handles, whatever kind they are.
const out = (text) => writeSync(1, text);
const fail = (text, code) => (writeSync(2, text), process.exit(code));

appendFileSync(join(state, "calls.log"), `${command} ${profile}\n`);
const host = (read(`${profile}.host`) ?? "Nonexistent").trim();
const running = host === "Running";
switch (command) {
  case "status": {
    const k = running ? "Running" : "Stopped";
    const status = { Name: profile, Host: host, Kubelet: k, APIServer: k, Kubeconfig: "Configured", Worker: false };
    out(`${JSON.stringify(status)}\n`);
    process.exit(running ? 0 : 7);
    break;
  }
  case "ip":
    if (!running) fail("X Exiting due to GUEST_STATUS: state: host is not running\n", 80);
    out(read(`${profile}.ip`) ?? "");
    break;
  case "profile":
    out('{"invalid":[],"valid":[]}\n');
    break;
  case "ssh-host":
    // minikube >= 1.31 prints nothing without --append-known; a test chooses what this one prints.
    out(read(`${profile}.ssh-host`) ?? "");
    break;
  default:
    fail(`fake minikube: unsupported command ${command}\n`, 64);
}
