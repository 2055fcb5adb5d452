import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ContainerCli } from "../../cluster/container-cli.js";
import { fileAccessFor } from "../../root/index.js";
import { parseHostKeys } from "./host-keys.js";
import { type LinkTarget, LinkUnavailable } from "./reconnecting-link.js";

/** minikube's node image logs in as `docker` with the key minikube made for the machine. */
export const NODE_USER = "docker";

/**
 * Root (`sudo mktunnel`) reads the user's key without following links they could plant; the user reads their own file
 * as is.
 */
async function readLoginKey(path: string): Promise<Buffer> {
  const files = await fileAccessFor(dirname(path));
  if (files.strict) return Buffer.from((await files.readSecret(path, 16_384)).text);
  return readFile(path);
}

/**
 * Where the node's SSH is now, whose key it must present, and our key (docs/architecture.md, "Forward mode", the
 * link): read again for every connect, since a restarted node has a new port.
 */
export async function resolveNodeTarget(
  containers: ContainerCli,
  profile: string,
  miniPath: string,
): Promise<LinkTarget> {
  const published = await containers.sshPort(profile);
  if (!published) throw new LinkUnavailable(`the node's container "${profile}" is not running`, true);
  // The node's own key files, read by the container engine, which knows which container is the node. Not
  // `minikube ssh-host`: it is ssh-keyscan of the same published port, so it pins whoever answers there.
  const hostKeys = parseHostKeys(await containers.hostPublicKeys(profile).catch(() => ""));
  if (hostKeys.length === 0)
    throw new LinkUnavailable(
      `cannot learn the node's SSH host key (${containers.engine} exec ${profile} could not read its key files); not connecting to an unverified host`,
      false,
    );
  const keyPath = join(miniPath, "machines", profile, "id_rsa");
  const privateKey = await readLoginKey(keyPath).catch((error: Error) =>
    Promise.reject(new LinkUnavailable(`cannot read the node's login key ${keyPath}: ${error.message}`, false)),
  );
  return { host: published.host, port: published.port, username: NODE_USER, privateKey, hostKeys };
}
