// The fake docker of test-support/fake-minikube.ts for Windows' Node (run by docker.exe, the launcher of
// wine-minikube/minikube.c built under this name): the node's container as minikube's kic driver leaves it, answered
// from files a test writes in FAKE_MINIKUBE_STATE. `container inspect <name>` prints Docker's JSON for the container
// (its shape as in fixtures/docker-container-inspect-minikube-linux.json), `system info` the daemon's JSON, and
// `exec <name> cat <files>` the node's host key files; an unknown container fails as Docker does.
import { appendFileSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

const state = process.env.FAKE_MINIKUBE_STATE;
const args = process.argv.slice(2);
const read = (name) => {
  try {
    return readFileSync(join(state, name), "utf8");
  } catch {
    return null;
  }
};
const out = (text) => writeSync(1, text);
const fail = (text, code) => (writeSync(2, text), process.exit(code));
const noSuchContainer = (name) => fail(`Error response from daemon: No such container: ${name}\n`, 1);

appendFileSync(join(state, "docker-calls.log"), `docker ${args.join(" ")}\n`);
const [first, second, third] = args;
if (first === "container" && second === "inspect") {
  const inspect = read(`${third}.docker-inspect`);
  if (inspect === null) {
    out("[]\n");
    noSuchContainer(third);
  }
  out(inspect);
} else if (first === "system" && second === "info") {
  const info = read("docker-info.json");
  if (info === null) fail("Cannot connect to the Docker daemon\n", 1);
  out(info);
} else if (first === "exec" && third === "cat") {
  // Only the node's key files are there to read.
  if (!args.slice(3).every((f) => /^\/etc\/ssh\/ssh_host_\w+_key\.pub$/.test(f)))
    fail(`fake docker: cat of ${args.slice(3).join(" ")} is not a host key file\n`, 64);
  const keys = read(`${second}.host-keys`);
  if (keys === null) noSuchContainer(second);
  out(keys);
} else {
  fail(`fake docker: unsupported command ${args.join(" ")}\n`, 64);
}
