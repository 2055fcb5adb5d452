/** Above pid_max's default, so never a live process: what a forged "dead tunnel" says. */
export const DEAD = 2 ** 22 + 4242;

/** A tunnels.json entry in minikube's shape, as anyone with the user's rights can write one. */
export function entry(ip: string, mask: string, gateway: string, profile = "minikube", pid = DEAD) {
  return {
    Route: {
      Gateway: gateway,
      DestCIDR: { IP: ip, Mask: mask },
      ClusterDomain: "cluster.local",
      ClusterDNSIP: "10.96.0.10",
    },
    MachineName: profile,
    Pid: pid,
  };
}
