import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundled } from "./bundles.js";
import { eventually } from "./eventually.js";
import { service } from "./forward-lab.js";
import { NetnsLab, labUnavailableReason } from "./netns-lab.js";
import { SshNode } from "./ssh-node.js";
import { type TunnelEvent, restartWineServer, startWineTunnel } from "./wine-forward-lab.js";
import { WineLab, releaseWineTemplate, wineLabUnavailableReason } from "./wine-lab.js";
import { WineFakeMinikube } from "./wine-minikube.js";

const run = promisify(execFile);
const skip = wineLabUnavailableReason() ?? labUnavailableReason();
if (skip) console.log(`skipped: forward mode under Wine: ${skip}`);

type Forward = { name: string; address: string; port: number; state: string };
type State = TunnelEvent & { link?: { state: string }; forwards?: Forward[]; names?: { state: string } };
const WEB_IP = "10.96.0.20";

/**
 * Forward mode in Windows' own Node (docs/architecture.md, "Tests"): the
 * lab's Windows runs inside the host namespace of a network-namespace lab,
 * whose node runs sshd (published on 127.0.0.1 as Docker publishes port 22)
 * and serves a LoadBalancer Service; minikube.exe and docker.exe are the
 * Wine lab's fakes, kube-sim is the cluster. Linux's curl, in the same
 * namespace, reaches the Service through the tunnel in Wine.
 */
describe.skipIf(skip !== null)("forward mode (ssh2) in Windows' own Node under Wine", () => {
  let net: NetnsLab;
  let lab: WineLab;
  let node: SshNode;
  let minikube: WineFakeMinikube;
  let sim: ChildProcess;
  let kubeconfig: string;
  let web: ChildProcess;
  let hosts: string;
  let originalHosts: Buffer;
  const kubectl = (...args: string[]) =>
    run("ip", ["netns", "exec", net.host, "kubectl", "--kubeconfig", kubeconfig, ...args]);
  const curl = (url: string) =>
    run("ip", ["netns", "exec", net.host, "curl", "-sS", "--max-time", "5", url]).then(
      ({ stdout }) => stdout,
      (error: { code?: number; stderr?: string }) => `curl exit ${error.code}: ${error.stderr ?? ""}`.trim(),
    );

  beforeAll(async () => {
    net = await NetnsLab.create();
    lab = await WineLab.start();
    // Wine's sockets are its server's: one started in the lab's host namespace puts the lab's Windows there.
    await restartWineServer(lab, net.host);
    await lab.installCli();
    const home = lab.unixPath((await lab.node(["-p", "require('os').homedir()"])).stdout.trim());
    minikube = await WineFakeMinikube.install(lab, home);
    await minikube.installDocker();
    await minikube.addProfile({ name: "minikube", nodeIp: net.nodeIp, driver: "docker" });
    node = await SshNode.start(net, join(minikube.miniPath, "machines", "minikube", "id_rsa"));
    await minikube.setContainer("minikube", node.publishedPort);
    await minikube.setHostKeyFiles("minikube", await node.hostPublicKeys());
    await minikube.setSshHost("minikube", await node.keyscanLines());

    sim = spawn("ip", ["netns", "exec", net.host, process.execPath, bundled("kube-sim-serve"), "minikube"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    kubeconfig = await new Promise<string>((resolve) => createInterface({ input: sim.stdout! }).once("line", resolve));
    await writeFile(join(lab.drive, "kubeconfig"), await readFile(kubeconfig));
    const manifest = join(lab.dir, "web.yaml");
    await writeFile(manifest, service("web", WEB_IP, "  - {name: http, port: 80}\n"));
    await kubectl("create", "-f", manifest);

    // The Service's backend on the node (kube-proxy's part): an HTTP server that says who it is.
    await net.addServiceAddress(WEB_IP);
    const script = `require("http").createServer((q, s) => s.end("web on the node\\n")).listen(80, "${WEB_IP}", () => console.log("listening"))`;
    web = spawn("ip", ["netns", "exec", net.node, process.execPath, "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      web.stdout!.once("data", () => resolve());
      web.once("exit", (code) => reject(new Error(`the node's web server exited with ${code}`)));
    });
    await net.addServiceAddress("10.96.0.1");
    await net.startTcpServer("10.96.0.1", 443);
    // C:\windows is hard-linked to the Wine template: the tunnel's names go into a hosts file of this lab's own.
    hosts = lab.unixPath("C:\\windows\\system32\\drivers\\etc\\hosts");
    originalHosts = await readFile(hosts);
    await rm(hosts);
    await writeFile(hosts, originalHosts);
  }, 300_000);

  afterAll(async () => {
    web?.kill("SIGKILL");
    sim?.kill("SIGTERM");
    await node?.stop();
    await lab?.destroy();
    await releaseWineTemplate();
    await net?.destroy();
  });

  it("start --mode forward: the Service on its own 127.64.x.y answers Linux's curl through ssh2 in Wine; Ctrl+C closes the listener", async () => {
    const env = minikube.env({ KUBECONFIG: "D:\\kubeconfig" });
    const tunnel = await startWineTunnel(lab, ["--mode", "forward"], env);
    const up = (await tunnel.waitFor(
      (e) => {
        const s = e as State;
        return e.event === "state" && s.link?.state === "up" && (s.forwards ?? []).some((f) => f.state === "listening");
      },
      "the link up and the Service's listener",
      90_000,
    )) as State;
    const forward = up.forwards!.find((f) => f.name === "web")!;
    expect(forward).toMatchObject({ port: 80, state: "listening" });
    expect(forward.address).toMatch(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
    // No OpenSSH under Wine: the Windows default falls back to ssh2 in process.
    const upLines = (await tunnel.events()).filter((e) => e.event === "log" && / is up/.test(String(e.message)));
    expect(upLines.map((e) => e.message)).toEqual([expect.not.stringMatching(/OpenSSH/)]);

    expect(await curl(`http://${forward.address}/`)).toBe("web on the node\n");
    // Windows' Node is elevated under Wine: the Service's name goes into %SystemRoot%\System32\drivers\etc\hosts.
    const line = `${forward.address} web.default.svc.cluster.local web.default\r\n`;
    await eventually(async () => (await readFile(hosts)).toString("latin1").includes(line), {
      timeoutMs: 30_000,
      what: `"${line.trim()}" in the hosts file`,
    });
    const ingress = JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout).status.loadBalancer.ingress;
    expect(ingress).toEqual([{ ip: forward.address, ipMode: "Proxy" }]);
    // The node's address and host keys came from docker.exe, as the product asks Docker on Windows.
    expect(await minikube.dockerCalls()).toEqual(
      expect.arrayContaining([
        "docker container inspect minikube",
        expect.stringMatching(/^docker exec minikube cat \/etc\/ssh\/ssh_host_rsa_key\.pub /),
      ]),
    );

    expect(await tunnel.ctrlC()).toBe("0");
    expect((await tunnel.events()).map((e) => e.event)).toEqual(expect.arrayContaining(["stopping", "stopped"]));
    expect(await curl(`http://${forward.address}/`)).toMatch(/^curl exit 7:/);
    expect((await readFile(hosts)).equals(originalHosts)).toBe(true);
    expect(
      JSON.parse((await kubectl("get", "svc", "web", "-o", "json")).stdout).status.loadBalancer.ingress ?? [],
    ).toEqual([]);
  }, 240_000);
});
