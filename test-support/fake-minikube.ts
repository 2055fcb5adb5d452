import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * A stand-in for the minikube binary (docs/architecture.md, "Tests"): answers `status -o json`,
 * `ip` and `profile list -o json` from files the test writes, with minikube's
 * exit codes (status exits 7 when the host is stopped, and still prints JSON).
 */
const SCRIPT = `#!/bin/sh
state="$FAKE_MINIKUBE_STATE"
cmd="$1"; shift
profile=minikube
while [ $# -gt 0 ]; do
  case "$1" in
    -p|--profile) profile="$2"; shift 2 ;;
    --profile=*) profile="\${1#--profile=}"; shift ;;
    *) shift ;;
  esac
done
echo "$cmd $profile" >> "$state/calls.log"
# A hung minikube (a stuck SSH to the node, say): exec, so killing this process kills the wait too.
if [ -f "$state/$profile.hang-$cmd" ]; then exec sleep 600; fi
host=$(cat "$state/$profile.host" 2>/dev/null || echo Nonexistent)
case "$cmd" in
  status)
    if [ -f "$state/$profile.status-raw" ]; then cat "$state/$profile.status-raw"; exit 0; fi
    if [ "$host" = Running ]; then k=Running; else k=Stopped; fi
    printf '{"Name":"%s","Host":"%s","Kubelet":"%s","APIServer":"%s","Kubeconfig":"Configured","Worker":false}\\n' "$profile" "$host" "$k" "$k"
    [ "$host" = Running ] || exit 7 ;;
  ip)
    if [ "$host" != Running ]; then echo "X Exiting due to GUEST_STATUS: state: host is not running" >&2; exit 80; fi
    cat "$state/$profile.ip" ;;
  profile)
    echo '{"invalid":[],"valid":[]}' ;;
  ssh-host)
    # minikube >= 1.31 prints nothing without --append-known; a test chooses what this one prints.
    cat "$state/$profile.ssh-host" 2>/dev/null ;;
  *) echo "fake minikube: unsupported command $cmd" >&2; exit 64 ;;
esac
`;

/**
 * A stand-in for the docker CLI, as minikube's kic driver leaves a node:
 * `container inspect` prints the JSON Docker prints for the node's
 * container (its shape as in fixtures/docker-container-inspect-minikube-linux.json),
 * `system info` the daemon's JSON, and `exec <name> cat …` the node's host key
 * files. Unknown containers fail as Docker does.
 */
const DOCKER_SCRIPT = `#!/bin/sh
state="$FAKE_MINIKUBE_STATE"
echo "docker $*" >> "$state/docker-calls.log"
case "$1 $2" in
  "container inspect")
    if [ -f "$state/$3.docker-inspect" ]; then cat "$state/$3.docker-inspect"; exit 0; fi
    echo "[]"; echo "Error response from daemon: No such container: $3" >&2; exit 1 ;;
  "system info")
    cat "$state/docker-info.json" 2>/dev/null || { echo "Cannot connect to the Docker daemon" >&2; exit 1; } ;;
esac
if [ "$1" = exec ]; then
  if [ -f "$state/$2.host-keys" ]; then cat "$state/$2.host-keys"; exit 0; fi
  echo "Error response from daemon: No such container: $2" >&2; exit 1
fi
echo "fake docker: unsupported command $*" >&2; exit 64
`;

export interface FakeProfile {
  readonly name: string;
  readonly nodeIp: string;
  readonly serviceCidr?: string;
  readonly host?: string;
  readonly extraConfig?: Record<string, unknown>;
}

export class FakeMinikube {
  private constructor(
    readonly root: string,
    readonly miniPath: string,
    readonly binDir: string,
    readonly stateDir: string,
  ) {}

  static async create(): Promise<FakeMinikube> {
    const root = await mkdtemp(join(tmpdir(), "mkt-fake-"));
    const fake = new FakeMinikube(root, join(root, ".minikube"), join(root, "bin"), join(root, "state"));
    await mkdir(fake.miniPath, { recursive: true });
    await mkdir(fake.binDir);
    await mkdir(fake.stateDir);
    await writeFile(join(fake.binDir, "minikube"), SCRIPT);
    await chmod(join(fake.binDir, "minikube"), 0o755);
    await writeFile(join(fake.binDir, "docker"), DOCKER_SCRIPT);
    await chmod(join(fake.binDir, "docker"), 0o755);
    return fake;
  }

  async addProfile(profile: FakeProfile): Promise<void> {
    const dir = join(this.miniPath, "profiles", profile.name);
    await mkdir(dir, { recursive: true });
    const config = {
      Name: profile.name,
      Driver: "docker",
      KubernetesConfig: {
        KubernetesVersion: "v1.34.0",
        ClusterName: profile.name,
        ServiceCIDR: profile.serviceCidr ?? "10.96.0.0/12",
        DNSDomain: "cluster.local",
      },
      Nodes: [{ Name: "", IP: profile.nodeIp, Port: 8443, ControlPlane: true, Worker: true }],
      ...profile.extraConfig,
    };
    await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
    await this.setHost(profile.name, profile.host ?? "Running");
    await this.setIp(profile.name, profile.nodeIp);
  }

  async setHost(profile: string, host: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.host`), host);
  }

  /** Makes `minikube <command> -p profile` hang until killed (or stop hanging with false). */
  async setHang(profile: string, command: "status" | "ip", hang = true): Promise<void> {
    const path = join(this.stateDir, `${profile}.hang-${command}`);
    if (hang) await writeFile(path, "");
    else await rm(path, { force: true });
  }

  /** How many times each minikube command ran, from the fake's call log. */
  async calls(): Promise<Record<string, number>> {
    const text = await readFile(join(this.stateDir, "calls.log"), "utf8").catch(() => "");
    const counts: Record<string, number> = {};
    for (const line of text.split("\n").filter(Boolean))
      counts[line.split(" ")[0]!] = (counts[line.split(" ")[0]!] ?? 0) + 1;
    return counts;
  }

  async setIp(profile: string, ip: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.ip`), `${ip}\n`);
  }

  /**
   * The node's container: running with port 22 published on 127.0.0.1:sshPort, or stopped (no ports, as Docker shows
   * it).
   */
  async setContainer(
    profile: string,
    container: { running: true; sshPort: number } | { running: false },
  ): Promise<void> {
    const ports = container.running
      ? {
          "22/tcp": [{ HostIp: "127.0.0.1", HostPort: String(container.sshPort) }],
          "8443/tcp": [{ HostIp: "127.0.0.1", HostPort: "32769" }],
        }
      : {};
    const inspect = [
      {
        Name: `/${profile}`,
        State: { Status: container.running ? "running" : "exited", Running: container.running },
        NetworkSettings: { Ports: ports },
      },
    ];
    await writeFile(join(this.stateDir, `${profile}.docker-inspect`), JSON.stringify(inspect, null, 4));
  }

  /** What `minikube ssh-host -p profile` prints (ssh-keyscan lines), or nothing, as minikube >= 1.31 does. */
  async setSshHost(profile: string, text: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.ssh-host`), text);
  }

  /** What `docker exec profile cat /etc/ssh/ssh_host_*_key.pub` prints. */
  async setHostKeyFiles(profile: string, text: string): Promise<void> {
    await writeFile(join(this.stateDir, `${profile}.host-keys`), text);
  }

  async setDockerInfo(json: string): Promise<void> {
    await writeFile(join(this.stateDir, "docker-info.json"), json);
  }

  get registryPath(): string {
    return join(this.miniPath, "tunnels.json");
  }

  /**
   * Environment for a process that should see this fake: MINIKUBE_HOME, PATH,
   * no kubeconfig, and root's runtime directory inside this fake's folder, so a
   * tunnel run as root keeps its records there, not in this machine's /run.
   */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      MINIKUBE_HOME: this.root,
      MKTUNNEL_RUNTIME_DIR: join(this.root, "run"),
      PATH: `${this.binDir}${delimiter}${process.env.PATH ?? ""}`,
      FAKE_MINIKUBE_STATE: this.stateDir,
      KUBECONFIG: join(this.root, "no-kubeconfig"),
      ...extra,
    };
  }

  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
