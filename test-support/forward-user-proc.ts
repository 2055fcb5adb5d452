// Forward mode's user side in its own process (run as the test user): the SSH link, and one
// Service port below 1024 through the helper. Prints the listener states, then waits to be killed.
import { readFileSync } from "node:fs";
import { ForwardListeners } from "../src/engine/access/forwards/forward-listeners.js";
import { parseHostKeys } from "../src/engine/access/forwards/host-keys.js";
import { chooseSshClient, createForwardLink } from "../src/engine/access/forwards/forward-link.js";
import { HelperClient } from "../src/engine/elevation/helper-client.js";

const [
  socketPath = "",
  secret = "",
  sshPort = "",
  keyPath = "",
  hostKeysPath = "",
  address = "",
  port = "",
  targetHost = "",
  targetPort = "",
] = process.argv.slice(2);
const helper = await HelperClient.connect(socketPath, secret);
await helper.hello();
const { link, carrier } = createForwardLink(await chooseSshClient(), async () => ({
  host: "127.0.0.1",
  port: Number(sshPort),
  username: "docker",
  privateKey: readFileSync(keyPath),
  hostKeys: parseHostKeys(readFileSync(hostKeysPath, "utf8")),
}));
await link.start();
const listeners = new ForwardListeners(
  carrier,
  () => helper,
  (line) => process.stderr.write(`${line}\n`),
);
await listeners.apply([
  {
    namespace: "default",
    name: "web",
    address,
    port: Number(port),
    protocol: "TCP",
    targetHost,
    targetPort: Number(targetPort),
  },
]);
process.stdout.write(`${JSON.stringify({ link: link.status(), forwards: listeners.statuses() })}\n`);
setInterval(() => undefined, 60_000);
