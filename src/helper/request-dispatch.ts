import { parseCidr } from "../shared/cidr.js";
import type { HelperRequest } from "../shared/helper-protocol.js";
import type { Root } from "../engine/root/root.js";

export type SessionRequest = Exclude<HelperRequest, { op: "ping" } | { op: "hello" }>;

/**
 * One protocol request onto the client's RootSession, where the policy is checked; answers what goes back on the wire.
 */
export async function dispatch(session: Root, request: SessionRequest): Promise<unknown> {
  switch (request.op) {
    case "declare":
      await session.declare({
        profile: request.profile,
        nodeIp: request.nodeIp,
        cidrs: request.cidrs.map((c) => parseCidr(c)),
        clusterDomain: request.clusterDomain,
        clusterDnsIp: request.clusterDnsIp,
      });
      return "declared";
    case "add":
      return session.addRoutes(
        request.cidrs.map((cidr) => ({
          destination: parseCidr(cidr),
          gateway: request.gateway,
          profile: request.profile,
        })),
      );
    case "remove":
      return session.removeRoutes(
        request.cidrs.map((cidr) => ({
          destination: parseCidr(cidr),
          gateway: request.gateway,
          profile: request.profile,
        })),
      );
    case "cleanup":
      return session.cleanup();
    case "relay":
      await session.relay(request.address, request.port, request.targetPort);
      return "listening";
    case "unrelay":
      await session.unrelay(request.address, request.port);
      return "closed";
    case "alias":
      await session.alias(request.address, request.present);
      return request.present ? "added" : "removed";
    case "names-hosts":
      return session.setHosts(request.profile, request.entries);
    case "names-dns":
      return (await session.setDns(request.profile, request.dns)) ?? "removed";
    case "names-dns-check":
      return (await session.dnsUnavailable()) ?? "available";
    case "names-wildcards":
      // A root without the responder answers as one whose wildcards are all unmapped.
      return session.setWildcards
        ? session.setWildcards(request.profile, request.entries)
        : {
            dropped: (request.entries ?? []).map((e) => ({
              name: e.pattern,
              reason: "wildcard (needs the DNS responder)",
            })),
          };
  }
}
