import { parseCidr } from "../src/shared/cidr.js";
import type { NamesWriter } from "../src/engine/root/names/names-writer.js";
import { RootSession, type RootSessionDeps } from "../src/engine/root/root-session.js";
import { NO_ALLOWANCES } from "../src/engine/root/policy/allowances.js";

/** The lab node's address in the root policy tests. */
export const NODE = "192.168.239.2";
// The node sits behind a virtual link of its own (a bridge of the container runtime), as minikube's do.
const NODE_LINK = { destination: parseCidr("192.168.239.0/24"), gateway: null, interface: "br-mkttest" };
const DEFAULT = { destination: parseCidr("0.0.0.0/0"), gateway: "192.168.1.1", interface: "mkt-nic0" };

/**
 * A root session with no allowances, a route table that knows the node's link, and profile "minikube" declared at
 * `nodeIp` with `cidrs` (the cluster's DNS at 10.96.0.10 when there are any). `names` stands in for the names writer:
 * the policy tests are about what root lets reach it, not about writing.
 */
export async function declaredRootSession(
  names: Partial<NamesWriter>,
  nodeIp = NODE,
  cidrs: readonly string[] = ["10.96.0.0/12"],
): Promise<RootSession> {
  const root = new RootSession({
    table: { list: async (family: number) => (family === 4 ? [NODE_LINK, DEFAULT] : []) },
    registry: {},
    registrar: {},
    user: { uid: 1000, gid: 1000 },
    relayTargetOwner: null,
    allowances: NO_ALLOWANCES,
    operator: false,
    runtimeDir: null,
    names: names as NamesWriter,
    log: () => undefined,
  } as unknown as RootSessionDeps);
  await root.declare({
    profile: "minikube",
    nodeIp,
    cidrs: cidrs.map((c) => parseCidr(c)),
    clusterDomain: "cluster.local",
    clusterDnsIp: cidrs.length > 0 ? "10.96.0.10" : "",
  });
  return root;
}
