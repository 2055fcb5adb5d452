import type { HostEntry, NameAddress } from "../src/engine/ingress/name-types.js";

/** Where the minikube ingress addon answers: the node's host ports 80 and 443. */
export const addonAddress: NameAddress = {
  kind: "node-hostport",
  ip: "192.168.49.2",
  ports: [
    { port: 80, protocol: "http" },
    { port: 443, protocol: "https" },
  ],
};

/** Where an Envoy Gateway answers: its LoadBalancer Service's external IP, port 80. */
export const gatewayAddress: NameAddress = {
  kind: "service-external",
  ip: "10.96.5.5",
  ports: [{ port: 80, protocol: "http" }],
  service: "envoy-gateway-system/envoy-eg",
};

/** One name an Ingress (by default, at the addon's address) asks for; `extra` makes it a Gateway's or adds `via`. */
export const hostEntry = (
  host: string,
  object: string,
  address = addonAddress,
  extra: Partial<HostEntry> = {},
): HostEntry => ({
  host,
  address,
  source: "ingress",
  object,
  wildcard: host.startsWith("*."),
  ...extra,
});
