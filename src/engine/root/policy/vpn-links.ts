import { readFile, stat } from "node:fs/promises";

/**
 * Link names VPN clients give their interfaces: tun/utun (OpenVPN, macOS
 * system VPNs, Tailscale on macOS), tap (OpenVPN bridged), wg (WireGuard),
 * ppp/ipsec (L2TP, IKEv2), tailscale, zt (ZeroTier), nordlynx, gpd
 * (GlobalProtect), cscotun (AnyConnect), mullvad, proton.
 */
const VPN_NAME = /^(tun|utun|tap|wg|ppp|ipsec|tailscale|zt|nordlynx|gpd|cscotun|mullvad|proton|wt)[0-9a-z-]*$/i;

/**
 * ARPHRD types of links that are tunnels, not Ethernet (linux/if_arp.h): PPP, IPIP, IPv6-in-IPv4, SIT, GRE, IP6GRE,
 * none (tun, WireGuard).
 */
const TUNNEL_TYPES = new Set([512, 768, 769, 776, 778, 823, 65534]);

/**
 * Whether a link carries a VPN or another tunnel: root never routes through
 * one, nor removes a route that sits on one. By name everywhere; on Linux
 * also by what the kernel says the link is (a tun device, or a link type
 * without Ethernet framing), whatever it is called.
 */
export async function isTunnelLink(
  name: string | null,
  platform: NodeJS.Platform = process.platform,
  sys = "/sys/class/net",
): Promise<boolean> {
  if (name === null) return false;
  if (VPN_NAME.test(name)) return true;
  if (platform !== "linux" || name.includes("/")) return false;
  if (
    await stat(`${sys}/${name}/tun_flags`).then(
      () => true,
      () => false,
    )
  )
    return true;
  const type = Number((await readFile(`${sys}/${name}/type`, "utf8").catch(() => "")).trim());
  return TUNNEL_TYPES.has(type);
}
