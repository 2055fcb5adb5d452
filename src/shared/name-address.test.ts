import { describe, expect, it } from "vitest";
import { nameView as name } from "../../test-support/name-views.js";
import type { AppState, IngressNameView } from "./app-state.js";
import { isNameUrl, nameEndpoints, nameUrl } from "./name-address.js";

const state = (ingresses: IngressNameView[], gateways: IngressNameView[] = []): AppState => ({
  profiles: [
    {
      profile: "minikube",
      running: true,
      phase: "active",
      nodeIp: null,
      routes: [],
      services: [],
      probe: null,
      ingresses,
      gateways,
    },
  ],
  error: null,
  busy: false,
});

describe("Ingress and Gateway name addresses", () => {
  it("a mapped name offers its URL per port (the port only when not the scheme's own), TLS passthrough host:port", () => {
    expect(
      nameEndpoints(
        name({
          ports: [
            { port: 80, protocol: "http" },
            { port: 8443, protocol: "https" },
            { port: 443, protocol: "tls" },
          ],
        }),
      ),
    ).toEqual([
      { port: 80, protocol: "http", copy: "http://shop.test/", url: "http://shop.test/" },
      { port: 8443, protocol: "https", copy: "https://shop.test:8443/", url: "https://shop.test:8443/" },
      { port: 443, protocol: "tls", copy: "shop.test:443", url: null },
    ]);
  });

  it("nothing to open for a name that is not mapped, a wildcard, or a port whose listener is down", () => {
    expect(nameEndpoints(name({ mapped: false, reason: "public name" })).map((e) => e.url)).toEqual([null, null]);
    expect(nameEndpoints(name({ host: "*.shop.test", wildcard: true })).map((e) => e.copy)).toEqual([null, null]);
    const down = nameEndpoints(name({ ports: [{ port: 80, protocol: "http", state: "port-in-use" }] }));
    expect(down).toEqual([{ port: 80, protocol: "http", copy: null, url: null, state: "port-in-use" }]);
  });

  it("main opens a name's URL only from its own state", () => {
    const s = state(
      [name()],
      [name({ host: "api.test", object: "default/gw", ports: [{ port: 443, protocol: "https" }] })],
    );
    expect(nameUrl(s, { profile: "minikube", host: "shop.test", port: 443 })).toBe("https://shop.test/");
    expect(nameUrl(s, { profile: "minikube", host: "api.test", port: 443 })).toBe("https://api.test/");
    expect(nameUrl(s, { profile: "minikube", host: "shop.test", port: 8080 })).toBeNull();
    expect(nameUrl(s, { profile: "other", host: "shop.test", port: 80 })).toBeNull();
    expect(nameUrl(s, { profile: "minikube", host: "evil.example", port: 80 })).toBeNull();
    expect(isNameUrl(s, "http://shop.test/")).toBe(true);
    for (const bad of ["http://evil.example/", "http://shop.test/admin", "file:///etc/passwd", "http://shop.test:81/"])
      expect(isNameUrl(s, bad), bad).toBe(false);
  });
});
