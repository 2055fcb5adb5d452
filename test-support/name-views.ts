import type { IngressNameView } from "../src/shared/app-state.js";

/** shop.test, mapped at minikube's ingress addon (the node's host ports 80 and 443). */
export const shopName: IngressNameView = {
  host: "shop.test",
  object: "default/shop",
  address: "192.168.49.2",
  ports: [
    { port: 80, protocol: "http" },
    { port: 443, protocol: "https" },
  ],
  mapped: true,
};

/** A public name an Ingress asks for: root does not write it, and the window offers its curl --resolve line. */
export const publicName: IngressNameView = {
  host: "shop.example.com",
  object: "default/public",
  address: "192.168.49.2",
  ports: [{ port: 80, protocol: "http" }],
  mapped: false,
  reason: "public name",
  curl: "curl --resolve shop.example.com:80:192.168.49.2 http://shop.example.com/",
};

/** shopName with `over` in place of its fields. */
export const nameView = (over: Partial<IngressNameView> = {}): IngressNameView => ({ ...shopName, ...over });
