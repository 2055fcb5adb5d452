import { lstat, readdir } from "node:fs/promises";

/**
 * macOS links a local VM or container node sits behind: vmnet's bridges
 * (HyperKit, QEMU with socket_vmnet, vfkit) from bridge100 up (bridge0 is
 * the Thunderbolt Bridge, a physical one), vmenet, VirtualBox host-only
 * (vboxnet), VMware Fusion (vmnet), Parallels (vnic), and feth pairs.
 */
const DARWIN_VIRTUAL = /^(bridge[1-9][0-9]{2,}|vmenet[0-9]+|vboxnet[0-9]+|vmnet[0-9]+|vnic[0-9]+|feth[0-9]+)$/;

/** How deep links stack (a VLAN on a bond on a NIC under a bridge is four). */
const MAX_DEPTH = 6;

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? false : Promise.reject(error)),
  );

/** The links under `name`: a bridge's ports, and the lower links of a VLAN, macvlan or bond. */
async function lowerLinks(name: string, sys: string): Promise<string[]> {
  const ports = await readdir(`${sys}/${name}/brif`).catch(() => [] as string[]);
  const lower = (await readdir(`${sys}/${name}`).catch(() => [] as string[]))
    .filter((entry) => entry.startsWith("lower_"))
    .map((entry) => entry.slice("lower_".length));
  return [...new Set([...ports, ...lower])].filter((n) => n !== "" && !n.includes("/"));
}

async function backedByHardware(name: string, sys: string, depth: number): Promise<boolean> {
  if (depth > MAX_DEPTH || name.includes("/")) return true;
  if (await exists(`${sys}/${name}/device`)) return true;
  for (const lower of await lowerLinks(name, sys)) if (await backedByHardware(lower, sys, depth + 1)) return true;
  return false;
}

/**
 * Whether a link is a virtual one, as every minikube node's is (a bridge of
 * veths or taps, a VM host-only network): a node IP on a physical network is
 * some machine on the LAN, and routing a cluster's networks to it would send
 * every local user's traffic for them there. Linux: a link backed by
 * hardware has a `device` in sysfs (virtio NICs of a VM too), and so does a
 * link stacked on one (a bridge with the NIC as a port, a VLAN, macvlan or
 * bond over it); a bridge of veths, a veth or a tap has none. macOS: by
 * name. Windows: not judged (the route table names interfaces by address;
 * docs/security.md, "Threat model").
 */
export async function isVirtualLink(
  name: string,
  platform: NodeJS.Platform = process.platform,
  sys = "/sys/class/net",
): Promise<boolean> {
  if (platform === "win32") return true;
  if (platform === "darwin") return DARWIN_VIRTUAL.test(name);
  return !(await backedByHardware(name, sys, 0));
}
