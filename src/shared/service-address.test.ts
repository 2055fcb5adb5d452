import { describe, expect, it } from "vitest";
import type { AppState, ServiceView } from "./app-state.js";
import { isServiceUrl, serviceEndpoints, serviceUrl } from "./service-address.js";

const svc = (ip: string, ports: ServiceView["ports"] = [{ port: 80, protocol: "TCP" }]): ServiceView => ({
  namespace: "default",
  name: "web",
  ports,
  externalIps: [{ ip }],
  owner: "minikube-tunnel",
});

describe("service addresses", () => {
  it("copy and open addresses per port, IPv6 in brackets, https for 443", () => {
    expect(
      serviceEndpoints(
        svc("172.30.0.1", [
          { port: 80, protocol: "TCP" },
          { port: 443, protocol: "TCP" },
          { port: 53, protocol: "UDP" },
        ]),
      ),
    ).toEqual([
      { port: 80, protocol: "TCP", address: "172.30.0.1:80", url: "http://172.30.0.1:80/" },
      { port: 443, protocol: "TCP", address: "172.30.0.1:443", url: "https://172.30.0.1:443/" },
      { port: 53, protocol: "UDP", address: "172.30.0.1:53", url: null },
    ]);
    expect(serviceEndpoints(svc("fd00::12"))[0]?.url).toBe("http://[fd00::12]:80/");
  });

  it("an external IP's 'ip' that is not an address never becomes part of a URL", () => {
    for (const bad of ["evil.example/x?", "evil.example", "127.0.0.1@evil.example", "javascript:alert(1)//"]) {
      expect(serviceEndpoints(svc(bad))[0], bad).toMatchObject({ address: null, url: null });
    }
  });

  it("main opens only http(s) to an IP literal without credentials", () => {
    expect(["http://10.96.0.12:80/", "https://[fd00::12]:8443/"].every(isServiceUrl)).toBe(true);
    for (const bad of [
      "https://evil.example/login",
      "http://user:pw@10.0.0.1/",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "http://localhost:631/admin",
      "not a url",
    ])
      expect(isServiceUrl(bad), bad).toBe(false);
  });

  it("serviceUrl finds a Service port in the state, and nothing else", () => {
    const state: AppState = {
      profiles: [
        {
          profile: "minikube",
          running: true,
          phase: "active",
          nodeIp: null,
          routes: [],
          services: [svc("172.30.0.1")],
          probe: null,
        },
      ],
      error: null,
      busy: false,
    };
    expect(serviceUrl(state, { profile: "minikube", namespace: "default", name: "web", port: 80 })).toBe(
      "http://172.30.0.1:80/",
    );
    expect(serviceUrl(state, { profile: "minikube", namespace: "default", name: "web", port: 81 })).toBeNull();
    expect(serviceUrl(state, { profile: "other", namespace: "default", name: "web", port: 80 })).toBeNull();
  });
});
