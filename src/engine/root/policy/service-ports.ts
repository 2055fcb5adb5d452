/**
 * Ports where local programs expect a system service, on any loopback
 * address (a resolver configured at 127.x:53, a mail client at :25, CUPS at
 * :631): a relay there would hand them a user's process instead.
 */
const SYSTEM_SERVICE_PORTS = new Map<number, string>([
  [22, "SSH"],
  [25, "SMTP"],
  [53, "DNS"],
  [67, "DHCP server"],
  [68, "DHCP client"],
  [111, "rpcbind"],
  [123, "NTP"],
  [137, "NetBIOS name service"],
  [138, "NetBIOS datagrams"],
  [139, "NetBIOS sessions"],
  [445, "SMB"],
  [546, "DHCPv6 client"],
  [547, "DHCPv6 server"],
  [631, "IPP printing, CUPS"],
]);

/**
 * Why no loopback listener of forward mode may take `port`, or null: the
 * same rule for the helper's relays and for a tunnel run as root that binds
 * its low ports itself (the cluster chooses the Services' ports).
 */
export function systemPortRefusal(port: number): string | null {
  const service = SYSTEM_SERVICE_PORTS.get(port);
  return service
    ? `port ${port} (${service}) is a system service's port, where local programs expect that service and not a user's process`
    : null;
}
