import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDaemonInfo, parseSshPort } from "./container-cli.js";
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
