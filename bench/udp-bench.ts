import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { buildBundles } from "../test-support/bundles.js";
import {
  DNS_SERVICE,
  type TcpLoadResult,
  type UdpLoadResult,
  dnsServiceManifest,
  serveDnsInNode,
  tcpLoad,
  udpLoad,
} from "../test-support/dns-load.js";
import { DockerForwardLab } from "../test-support/docker-forward-lab.js";
import { type State, state } from "../test-support/forward-lab.js";
import { round1 } from "./stats.js";
import { relayName } from "../src/engine/access/forwards/udp-relays.js";

export interface UdpBenchResult {
  readonly load: { readonly before: number[]; readonly after: number[] };
  readonly rate: number;
  readonly seconds: number;
  /** Straight at the relay's published port: docker-proxy and the relay alone, without our listener. */
  readonly relayAlone: UdpLoadResult;
  /** Through the Service's loopback address, per SSH client carrying TCP (UDP's path does not use the link). */
  readonly clients: Record<string, { readonly udp: UdpLoadResult; readonly tcp: TcpLoadResult }>;
}

const udpEntry = (s: State) =>
  (s.forwards ?? []).find((f) => f.name === "dns" && f.protocol === "UDP" && f.state === "listening");

/**
 * Forward mode's UDP on the real Docker engine (`npm run bench -- udp`): DNS queries at a steady rate through a UDP
 * LoadBalancer Service's own address (our listener, docker-proxy, the relay, the node port), the same query over TCP
 * through the SSH link, and the relay's published port alone for comparison.
 */
export async function benchUdp(rate = 1000, seconds = 10, tcpSamples = 1000): Promise<UdpBenchResult> {
  const before = loadavg().map(round1);
  await buildBundles();
  const lab = await DockerForwardLab.start();
  try {
    const clients: UdpBenchResult["clients"] = {};
    let relayAlone: UdpLoadResult | null = null;
    for (const client of ["ssh2", "openssh"]) {
      const c = await lab.begin();
      try {
        await serveDnsInNode(lab.engine);
        const manifest = join(c.fake.root, "dns.yaml");
        await writeFile(manifest, dnsServiceManifest());
        await c.kubectl("create", "-f", manifest);
        const tunnel = c.start(client);
        try {
          await tunnel.ready();
          const up = await state(tunnel, (s) => s.link?.state === "up" && !!udpEntry(s), "the UDP port", 60_000);
          const address = udpEntry(up)!.address;
          if (!relayAlone) {
            const published = await lab.engine.dockerOk([
              ...["port", relayName("minikube", DNS_SERVICE.nodePort), `${DNS_SERVICE.nodePort}/udp`],
            ]);
            const port = Number(/:(\d+)\s*$/m.exec(published)?.[1]);
            relayAlone = await udpLoad(lab.netns, "127.0.0.1", port, { rate, seconds });
          }
          const udp = await udpLoad(lab.netns, address, DNS_SERVICE.port, { rate, seconds });
          const tcp = await tcpLoad(lab.netns, address, DNS_SERVICE.port, tcpSamples);
          clients[client] = { udp, tcp };
        } finally {
          await tunnel.stop();
        }
      } finally {
        await lab.engine.exec(["pkill", "-KILL", "-x", "dnsmasq"]);
        await lab.end();
      }
    }
    return { load: { before, after: loadavg().map(round1) }, rate, seconds, relayAlone: relayAlone!, clients };
  } finally {
    await lab.destroy();
  }
}
