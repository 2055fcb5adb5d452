import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TOOLS_WIN, WIN_BUILD_DIR, type WineLab } from "./wine-lab.js";

const run = promisify(execFile);
const SOURCES = join(import.meta.dirname, "wine-minikube");
const DOCKER_SCRIPT = join(import.meta.dirname, "wine-docker", "docker.mjs");

/** minikube.exe, compiled once per change of its source (renamed into place, so parallel files never see half of it). */
async function launcher(): Promise<string> {
  const source = join(SOURCES, "minikube.c");
  const hash = createHash("sha256")
    .update(await readFile(source))
    .digest("hex")
    .slice(0, 12);
  const exe = join(WIN_BUILD_DIR, "minikube", `minikube-${hash}.exe`);
  if (existsSync(exe)) return exe;
  await mkdir(join(WIN_BUILD_DIR, "minikube"), { recursive: true });
  const temp = `${exe}.${process.pid}.tmp`;
  await run("x86_64-w64-mingw32-gcc", ["-O2", "-Wall", "-Wextra", "-s", "-o", temp, source]);
  await rename(temp, exe);
  return exe;
}

export interface WindowsProfile {
  readonly name: string;
  readonly nodeIp: string;
  /** minikube's driver: hyperv (route mode) by default. */
  readonly driver?: string;
}

/**
 * test-support/fake-minikube.ts for a Wine lab (docs/architecture.md, "Tests"): `minikube.exe` (a launcher) and its
 * script in D:\fake-minikube\bin, on the Windows PATH through `env()`, answering from D:\fake-minikube\state; profiles
 * in `%USERPROFILE%\.minikube`, where the product looks on Windows.
 */
export class WineFakeMinikube {
  private constructor(
    private readonly lab: WineLab,
    /** `%USERPROFILE%\.minikube` as a Unix path. */
    readonly miniPath: string,
    readonly stateDir: string,
  ) {}

  static async install(lab: WineLab, home: string): Promise<WineFakeMinikube> {
    const bin = join(lab.drive, "fake-minikube", "bin");
    const fake = new WineFakeMinikube(lab, join(home, ".minikube"), join(lab.drive, "fake-minikube", "state"));
    await mkdir(bin, { recursive: true });
    await mkdir(fake.stateDir, { recursive: true });
    await copyFile(await launcher(), join(bin, "minikube.exe"));
    await copyFile(join(SOURCES, "minikube.mjs"), join(bin, "minikube.mjs"));
    return fake;
  }

  /**
   * `docker.exe` beside minikube.exe (the same launcher, running wine-docker/docker.mjs), answering from the same
   * state folder: what minikube's docker driver leaves for forward mode to ask.
   */
  async installDocker(): Promise<void> {
    const bin = join(this.lab.drive, "fake-minikube", "bin");
    await copyFile(await launcher(), join(bin, "docker.exe"));
    await copyFile(DOCKER_SCRIPT, join(bin, "docker.mjs"));
  }

  /** For lab.run: the fakes on PATH after the lab's tools, their state, and no kubeconfig. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      WINEPATH: `${TOOLS_WIN};${this.lab.windowsPath(join(this.lab.drive, "fake-minikube", "bin"))}`,
      FAKE_MINIKUBE_STATE: this.lab.windowsPath(this.stateDir),
      KUBECONFIG: "D:\\no-kubeconfig",
      ...extra,
    };
  }

  async addProfile(profile: WindowsProfile): Promise<void> {
    const dir = join(this.miniPath, "profiles", profile.name);
    await mkdir(dir, { recursive: true });
    const config = {
      Name: profile.name,
      Driver: profile.driver ?? "hyperv",
      KubernetesConfig: {
        KubernetesVersion: "v1.34.0",
        ClusterName: profile.name,
        ServiceCIDR: "10.96.0.0/12",
        DNSDomain: "cluster.local",
      },
      Nodes: [{ Name: "", IP: profile.nodeIp, Port: 8443, ControlPlane: true, Worker: true }],
    };
    await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
    await this.setHost(profile.name, "Running");
    await writeFile(join(this.stateDir, `${profile.name}.ip`), `${profile.nodeIp}\n`);
  }

  async setHost(profile: string, host: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.host`), host);
  }

  /** The node's container, running with port 22 published on 127.0.0.1:sshPort (as fake-minikube.ts's setContainer). */
  async setContainer(profile: string, sshPort: number): Promise<void> {
    const inspect = [
      {
        Name: `/${profile}`,
        State: { Status: "running", Running: true },
        NetworkSettings: {
          Ports: {
            "22/tcp": [{ HostIp: "127.0.0.1", HostPort: String(sshPort) }],
            "8443/tcp": [{ HostIp: "127.0.0.1", HostPort: "32769" }],
          },
        },
      },
    ];
    await writeFile(join(this.stateDir, `${profile}.docker-inspect`), JSON.stringify(inspect, null, 4));
  }

  /** What `docker exec profile cat /etc/ssh/ssh_host_*_key.pub` prints. */
  async setHostKeyFiles(profile: string, text: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.host-keys`), text);
  }

  /** What `minikube ssh-host -p profile` prints (ssh-keyscan lines), or nothing, as minikube >= 1.31 does. */
  async setSshHost(profile: string, text: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.ssh-host`), text);
  }

  /** The docker commands run, one line each (`docker container inspect minikube`, …). */
  async dockerCalls(): Promise<string[]> {
    return (await readFile(join(this.stateDir, "docker-calls.log"), "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean);
  }

  /** How many times each minikube command ran. */
  async calls(): Promise<Record<string, number>> {
    const text = await readFile(join(this.stateDir, "calls.log"), "utf8").catch(() => "");
    const counts: Record<string, number> = {};
    for (const line of text.split("\n").filter(Boolean)) {
      const command = line.split(" ")[0]!;
      counts[command] = (counts[command] ?? 0) + 1;
    }
    return counts;
  }
}
