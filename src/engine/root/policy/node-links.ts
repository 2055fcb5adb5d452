import { lstat } from "node:fs/promises";

/**
 * macOS links a local VM or container node sits behind: vmnet's bridges
 * (HyperKit, QEMU with socket_vmnet, vfkit), vmenet, VirtualBox host-only
 * (vboxnet), VMware Fusion (vmnet), Parallels (vnic), and feth pairs.
 */
const DARWIN_VIRTUAL = /^(bridge|vmenet|vboxnet|vmnet|vnic|feth)[0-9]+$/;

/**
 * Whether a link is a virtual one, as every minikube node's is (a bridge,
 * veth, VM host-only network): a node IP on a physical NIC is some machine
 * on the LAN, and routing a cluster's networks to it would send every local
 * user's traffic for them there. Linux: a link backed by hardware has a
 * `device` in sysfs (virtio NICs of a VM too); a bridge, veth, dummy or
 * host-only link has none. macOS: by name. Windows: not judged (the route
 * table names interfaces by address; docs/security.md, "Threat model").
 */
export async function isVirtualLink(
  name: string,
  platform: NodeJS.Platform = process.platform,
  sys = "/sys/class/net",
): Promise<boolean> {
  if (platform === "win32") return true;
  if (platform === "darwin") return DARWIN_VIRTUAL.test(name);
  if (name.includes("/")) return false;
  const device = await lstat(`${sys}/${name}/device`).then(
    () => true,
    (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? false : Promise.reject(error)),
  );
  return !device;
}
