import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDaemonInfo, parseNodePlacement, parseRelayPort, parseSshPort } from "./container-cli.js";
import { decideAccessMode, hostFacts, isRemoteDaemon } from "./access-mode.js";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");
const linux = { platform: "linux" as const, wsl: false, daemonHost: undefined };
const never = async () => {
  throw new Error("the daemon should not be asked");
};

describe("docker container inspect (captured)", () => {
  it("finds the node's SSH port as Docker published it", () => {
    expect(parseSshPort(fixture("docker-container-inspect-minikube-linux.json"), "minikube")).toEqual({
      host: "127.0.0.1",
      port: 49162,
    });
  });

  it("a stopped container publishes nothing: null, not an error", () => {
    const stopped = JSON.parse(fixture("docker-container-inspect-minikube-linux.json"));
    stopped[0].State.Running = false;
    stopped[0].NetworkSettings.Ports = {};
    expect(parseSshPort(JSON.stringify(stopped), "minikube")).toBeNull();
  });

  it("finds the node's image and its address on the profile's network, where a UDP relay runs beside it", () => {
    expect(parseNodePlacement(fixture("docker-container-inspect-minikube-linux.json"), "minikube")).toEqual({
      image: "sha256:1312ccd2422d964b2df363d606d0c016d6acbc1ddf0211c26a74717f2897dc43",
      network: "minikube",
      ip: "192.168.49.2",
    });
    const stopped = JSON.parse(fixture("docker-container-inspect-minikube-linux.json"));
    stopped[0].State.Running = false;
    expect(parseNodePlacement(JSON.stringify(stopped), "minikube")).toBeNull();
  });

  it("finds a UDP relay's published port as Docker published it", () => {
    expect(parseRelayPort(fixture("docker-container-inspect-udp-relay-linux.json"), "relay", "30053/udp")).toEqual({
      host: "127.0.0.1",
      port: 32768,
    });
    expect(parseRelayPort(fixture("docker-container-inspect-udp-relay-linux.json"), "relay", "22/tcp")).toBeNull();
  });

  it("attack: a relay published on every address (an engine that ignored 127.0.0.1) is refused, not read as loopback", () => {
    const wide = JSON.parse(fixture("docker-container-inspect-udp-relay-linux.json"));
    wide[0].NetworkSettings.Ports["30053/udp"][0].HostIp = "0.0.0.0";
    expect(() => parseRelayPort(JSON.stringify(wide), "relay", "30053/udp")).toThrow(
      'relay is published on "0.0.0.0", not on 127.0.0.1 alone',
    );
  });

  it("attack: an odd engine answer never becomes a relay's arguments: an image that is not an ID, a public address", () => {
    const node = () => JSON.parse(fixture("docker-container-inspect-minikube-linux.json"));
    const withImage = node();
    withImage[0].Image = "--label";
    expect(() => parseNodePlacement(JSON.stringify(withImage), "minikube")).toThrow(
      'the image "--label" is not an image ID',
    );
    const withIp = node();
    withIp[0].NetworkSettings.Networks.minikube.IPAddress = "8.8.8.8";
    expect(() => parseNodePlacement(JSON.stringify(withIp), "minikube")).toThrow(
      'the node\'s address "8.8.8.8" is not a private IPv4 address',
    );
  });

  it("output that is not JSON is an error naming the container", () => {
    expect(() => parseSshPort("Error: No such object", "dev")).toThrow("container inspect dev did not print JSON");
  });
});

describe("docker and podman system info (captured)", () => {
  it.each([
    ["docker-info-linux-docker.json", "docker", { desktop: false, rootless: false }],
    ["docker-info-macos-docker.json", "docker", { desktop: true, rootless: false }],
    ["docker-info-windows-docker.json", "docker", { desktop: true, rootless: false }],
    ["docker-info-mac-swarm-enabled.json", "docker", { desktop: true, rootless: false }],
    ["podman-info-podman-1-8-linux.json", "podman", { desktop: false, rootless: false }],
  ] as const)("%s", (file, engine, facts) => {
    expect(parseDaemonInfo(engine, fixture(file))).toEqual(facts);
  });

  it("a rootless daemon lists name=rootless among its security options (as Docker's rootless docs show)", () => {
    expect(
      parseDaemonInfo(
        "docker",
        JSON.stringify({
          OperatingSystem: "Ubuntu 20.04.2 LTS",
          SecurityOptions: ["name=seccomp,profile=default", "name=rootless"],
        }),
      ).rootless,
    ).toBe(true);
    expect(parseDaemonInfo("podman", JSON.stringify({ host: { security: { rootless: true } } })).rootless).toBe(true);
  });
});

describe("auto follows minikube's NeedsPortForward", () => {
  const daemon = (file: string) => async () => parseDaemonInfo("docker", fixture(file));

  it("a VM driver is routed to", async () => {
    expect((await decideAccessMode("kvm2", linux, never)).mode).toBe("route");
    expect((await decideAccessMode("hyperkit", { ...linux, platform: "darwin" }, never)).mode).toBe("route");
  });

  it("docker on macOS, on Windows and under WSL forwards, without asking the daemon", async () => {
    expect(await decideAccessMode("docker", { ...linux, platform: "darwin" }, never)).toEqual({
      mode: "forward",
      reason: "with the docker driver on macOS the node lives in the daemon's VM",
    });
    expect((await decideAccessMode("podman", { ...linux, platform: "win32" }, never)).mode).toBe("forward");
    expect((await decideAccessMode("docker", { ...linux, wsl: true }, never)).mode).toBe("forward");
  });

  it("a remote daemon forwards; a local socket does not count as remote", async () => {
    expect((await decideAccessMode("docker", { ...linux, daemonHost: "ssh://me@build-box" }, never)).mode).toBe(
      "forward",
    );
    expect((await decideAccessMode("docker", { ...linux, daemonHost: "tcp://10.0.0.5:2376" }, never)).mode).toBe(
      "forward",
    );
    expect(isRemoteDaemon("unix:///run/user/1000/docker.sock")).toBe(false);
    expect(
      (
        await decideAccessMode(
          "docker",
          { ...linux, daemonHost: "unix:///var/run/docker.sock" },
          daemon("docker-info-linux-docker.json"),
        )
      ).mode,
    ).toBe("route");
  });

  it("on Linux, Docker Desktop and a rootless daemon forward; a rootful engine is routed to", async () => {
    expect((await decideAccessMode("docker", linux, daemon("docker-info-macos-docker.json"))).mode).toBe("forward");
    expect((await decideAccessMode("docker", linux, async () => ({ desktop: false, rootless: true }))).mode).toBe(
      "forward",
    );
    expect((await decideAccessMode("docker", linux, daemon("docker-info-linux-docker.json"))).mode).toBe("route");
  });

  it("a daemon that cannot be asked leaves routes, and says why", async () => {
    const decision = await decideAccessMode("docker", linux, async () => {
      throw new Error("Cannot connect to the Docker daemon");
    });
    expect(decision).toEqual({
      mode: "route",
      reason:
        "could not ask the docker daemon (Cannot connect to the Docker daemon); trying routes, as a local Linux daemon needs",
    });
  });

  it("host facts: WSL from minikube's variables, the daemon from DOCKER_HOST or CONTAINER_HOST", () => {
    expect(hostFacts("docker", { WSL_DISTRO_NAME: "Ubuntu", DOCKER_HOST: "tcp://x:2376" }, "linux")).toEqual({
      platform: "linux",
      wsl: true,
      daemonHost: "tcp://x:2376",
    });
    expect(hostFacts("podman", { CONTAINER_HOST: "ssh://core@vm" }, "darwin")).toEqual({
      platform: "darwin",
      wsl: false,
      daemonHost: "ssh://core@vm",
    });
  });
});
