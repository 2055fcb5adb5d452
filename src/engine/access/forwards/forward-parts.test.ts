import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ManagedService } from "../../lb/lb-service.js";
import { forwardSpecsOf } from "./forward-specs.js";
import { hostKeyAlgorithms, isPinned, parseHostKeys } from "./host-keys.js";
import { loopbackOctetFor } from "./loopback-range.js";
import { ingressRangeFor, servicePoolFor } from "./ingress-forwards.js";
import { forwardSpec } from "./openssh-link.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

describe("host keys from ssh-keyscan and .pub files (captured)", () => {
  it("reads minikube ssh-host's lines, the full keyscan and the key files alike", () => {
    const rsa = parseHostKeys(fixture("ssh-keyscan-t-rsa.txt"));
    expect(rsa.map((k) => k.algorithm)).toEqual(["ssh-rsa"]);
    const all = parseHostKeys(fixture("ssh-keyscan-all.txt"));
    expect(all.map((k) => k.algorithm).sort()).toEqual(["ssh-ed25519", "ssh-rsa"]);
    const files = parseHostKeys(fixture("ssh_host_keys.pub.txt"));
    expect(files.map((k) => k.algorithm)).toEqual(["ssh-rsa", "ssh-ed25519"]);
    expect(isPinned(files, rsa[0]!.blob)).toBe(true);
  });

  it("skips comments, blank lines and a blob whose algorithm does not match its line", () => {
    const [line] = fixture("ssh-keyscan-t-rsa.txt").trim().split("\n");
    const lying = line!.replace("ssh-rsa", "ssh-ed25519");
    expect(parseHostKeys(`# 127.0.0.1:32772 SSH-2.0-OpenSSH_9.2p1\n\n${lying}\n`)).toEqual([]);
  });

  it("offers only the algorithms of the pinned keys, RSA as its SHA-2 signatures first", () => {
    expect(hostKeyAlgorithms(parseHostKeys(fixture("ssh-keyscan-t-rsa.txt")))).toEqual([
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
    ]);
  });
});

describe("loopback ranges", () => {
  it("a profile keeps its /16 from run to run, inside 127.64–127.127; a taken one moves to the next", () => {
    const octet = loopbackOctetFor("minikube");
    expect(loopbackOctetFor("minikube")).toBe(octet);
    expect(octet).toBeGreaterThanOrEqual(64);
    expect(octet).toBeLessThanOrEqual(127);
    expect(loopbackOctetFor("minikube", new Set([octet]))).toBe(octet === 127 ? 64 : octet + 1);
    // The /16's last /24 is the Ingress and Gateway places'; the Services' pool stops before it.
    expect(servicePoolFor(70)).toBe("127.70.0.1-127.70.254.255");
    expect(ingressRangeFor(70)).toBe("127.70.255.0/24");
  });
});

describe("what to forward", () => {
  const service = (name: string, extra: Partial<ManagedService>): ManagedService => ({
    namespace: "default",
    name,
    clusterIPs: ["10.96.0.9"],
    ports: [{ port: 80, protocol: "TCP" }],
    externalIps: [{ ip: "127.70.0.1", ipMode: "Proxy" }],
    owner: "minikube-tunnel",
    ...extra,
  });
  const inRange = (ip: string) => ip.startsWith("127.70.");

  it("every port of our Services, on the ingress address, to the IPv4 ClusterIP and the same port", () => {
    expect(
      forwardSpecsOf(
        [
          service("web", {
            clusterIPs: ["fd00::9", "10.96.0.9"],
            ports: [
              { port: 80, protocol: "TCP" },
              { port: 53, protocol: "UDP" },
            ],
          }),
        ],
        inRange,
      ),
    ).toEqual([
      {
        namespace: "default",
        name: "web",
        address: "127.70.0.1",
        port: 80,
        protocol: "TCP",
        targetHost: "10.96.0.9",
        targetPort: 80,
      },
      {
        namespace: "default",
        name: "web",
        address: "127.70.0.1",
        port: 53,
        protocol: "UDP",
        targetHost: "10.96.0.9",
        targetPort: 53,
      },
    ]);
  });

  it("not a Service someone else serves, one without an address yet, or one whose address is outside the range", () => {
    expect(
      forwardSpecsOf(
        [
          service("a", { owner: "other" }),
          service("b", { externalIps: [] }),
          service("c", { externalIps: [{ ip: "10.1.2.3" }] }),
        ],
        inRange,
      ),
    ).toEqual([]);
  });
});

describe("macOS loopback aliases (ifconfig, as ifconfig(8) documents it)", () => {
  it("adds with `ifconfig lo0 alias A up`, removes with `-alias`, and takes an alias already gone as removed", async () => {
    const { DarwinLoopbackAliases } = await import("../../root/loopback/loopback-aliases-darwin.js");
    const aliases = new Set<string>();
    const calls: string[] = [];
    // ifconfig on macOS: adding is idempotent; deleting a missing address fails with EADDRNOTAVAIL's message.
    const ifconfig = {
      run: async (file: string, args: readonly string[]) => {
        calls.push([file, ...args].join(" "));
        const [, op, address] = args;
        if (op === "alias") return (aliases.add(address!), { stdout: "", stderr: "", exitCode: 0 });
        if (aliases.delete(address!)) return { stdout: "", stderr: "", exitCode: 0 };
        return { stdout: "", stderr: "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n", exitCode: 1 };
      },
    };
    const darwin = new DarwinLoopbackAliases(ifconfig);
    await darwin.add("127.70.0.1");
    await darwin.remove("127.70.0.1");
    await darwin.remove("127.70.0.1");
    expect(calls).toEqual([
      "ifconfig lo0 alias 127.70.0.1 up",
      "ifconfig lo0 -alias 127.70.0.1",
      "ifconfig lo0 -alias 127.70.0.1",
    ]);
  });
});

describe("OpenSSH's -L specs", () => {
  it("bracket IPv6 on both sides, so an IPv6 ClusterIP is not read as host:port:host:port", () => {
    expect(forwardSpec({ address: "127.64.0.5", port: 80, target: { host: "10.96.0.20", port: 8080 } })).toBe(
      "127.64.0.5:80:10.96.0.20:8080",
    );
    expect(forwardSpec({ address: "127.64.0.5", port: 80, target: { host: "fd00:10:96::20", port: 80 } })).toBe(
      "127.64.0.5:80:[fd00:10:96::20]:80",
    );
    expect(forwardSpec({ address: "::1", port: 80, target: { host: "fd00::1", port: 80 } })).toBe(
      "[::1]:80:[fd00::1]:80",
    );
  });
});
