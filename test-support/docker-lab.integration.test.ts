import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerLab, type DockerLabTimings, dockerLabUnavailableReason } from "./docker-lab.js";

const run = promisify(execFile);
const skip = dockerLabUnavailableReason();
if (skip) console.log(`skipped: the Docker lab: ${skip}`);

/** The files the product reads through `docker exec` (HOST_KEY_FILES in the container CLI). */
const HOST_KEY_FILES = [
  "/etc/ssh/ssh_host_rsa_key.pub",
  "/etc/ssh/ssh_host_ecdsa_key.pub",
  "/etc/ssh/ssh_host_ed25519_key.pub",
];

const describeTimings = (t: DockerLabTimings) =>
  `${t.totalMs} ms in all: image ${t.image.built ? `built in ${t.image.buildMs} ms (cold)` : "from the cache (warm)"}, dockerd ${t.daemonMs} ms, import ${t.importMs} ms, node up ${t.nodeMs} ms`;

describe.skipIf(skip !== null)(
  "a real Docker engine in a network namespace, its node as minikube's docker driver runs it",
  () => {
    let lab: DockerLab;
    let home: string;
    let keyPath: string;
    let knownHosts: string;

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), "mkt-dktest-"));
      keyPath = join(home, ".minikube", "machines", "minikube", "id_rsa");
      lab = await DockerLab.start({ clientKeyPath: keyPath, publish: ["5353/udp"], log: console.log });
      const [image] = JSON.parse(await lab.dockerOk(["image", "inspect", lab.timings.image.tag]));
      console.log(
        `[docker-lab] started in ${describeTimings(lab.timings)}; node image ${Math.round(image.Size / 1e6)} MB`,
      );
      knownHosts = join(home, "known_hosts");
    }, 600_000);

    afterAll(async () => {
      await lab?.destroy();
      if (home) await rm(home, { recursive: true, force: true });
    }, 120_000);

    /**
     * What the product runs: `docker` found on PATH; the lab's wrapper answers even where DOCKER_HOST names another
     * daemon.
     */
    const docker = async (...args: string[]) =>
      (await run("docker", args, { env: lab.env({ DOCKER_HOST: "unix:///nonexistent/docker.sock" }) })).stdout;

    /** Pins the node's host keys as the product does: read through the engine, not from the network. */
    const pinHostKeys = async () => {
      const keys = await lab.exec(["cat", ...HOST_KEY_FILES]);
      await writeFile(
        knownHosts,
        keys.stdout
          .split("\n")
          .filter(Boolean)
          .map((line) => `minikube ${line.split(" ").slice(0, 2).join(" ")}\n`)
          .join(""),
      );
      return keys.stdout;
    };

    const ssh = (port: number, command: string) =>
      lab.inNetns("ssh", [
        ...["-F", "/dev/null", "-i", keyPath, "-p", String(port)],
        ...[
          "-o",
          "BatchMode=yes",
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "StrictHostKeyChecking=yes",
          "-o",
          `UserKnownHostsFile=${knownHosts}`,
          "-o",
          "HostKeyAlias=minikube",
          "-o",
          "ConnectTimeout=5",
        ],
        "docker@127.0.0.1",
        command,
      ]);

    it("answers `docker container inspect` with port 22 published on 127.0.0.1, the labels and address minikube gives its node", async () => {
      const [node] = JSON.parse(await docker("container", "inspect", "minikube"));
      expect(node.Name).toBe("/minikube");
      expect(node.State.Running).toBe(true);
      expect(node.Config.Hostname).toBe("minikube");
      expect(node.HostConfig.Privileged).toBe(false);
      expect(node.Config.Labels).toMatchObject({
        "created_by.minikube.sigs.k8s.io": "true",
        "name.minikube.sigs.k8s.io": "minikube",
        "mode.minikube.sigs.k8s.io": "minikube",
        "role.minikube.sigs.k8s.io": "",
      });
      expect(node.NetworkSettings.Networks.minikube.IPAddress).toBe("192.168.49.2");
      expect(node.NetworkSettings.Ports["22/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(lab.sshPort) }]);
      expect(await lab.publishedPort()).toBe(lab.sshPort);

      const info = JSON.parse(await docker("system", "info", "--format", "{{json .}}"));
      expect(info.ServerVersion).toMatch(/^\d+\.\d+/);
      expect(info.Containers).toBe(1);
      expect((await pinHostKeys()).match(/^(ssh-rsa|ecdsa-sha2-nistp256|ssh-ed25519)(?= )/gm)).toEqual([
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ssh-ed25519",
      ]);
    });

    it("logs in over SSH as user docker with minikube's key through the published port, host key pinned", async () => {
      await pinHostKeys();
      const login = await ssh(lab.sshPort, "id -un; hostname");
      expect(login.stderr).toBe("");
      expect(login.stdout).toBe("docker\nminikube\n");
    });

    it("relays UDP datagrams through a port published with -p 127.0.0.1::5353/udp", async () => {
      expect((await lab.exec(["socat", "UDP4-RECVFROM:5353,fork", "PIPE"], { detach: true })).exitCode).toBe(0);
      const port = await lab.publishedPort("5353/udp");
      expect(port).toBeGreaterThan(0);
      // Sent again every 200 ms until the echo answers (docker exec -d returns before socat binds), for at most 10 s.
      const payload = `datagram-${process.pid}`;
      const script = `const d=require("dgram").createSocket("udp4");const send=()=>d.send(${JSON.stringify(payload)},${port},"127.0.0.1");send();setInterval(send,200);d.on("message",(m)=>{console.log(m.toString());process.exit(0)});setTimeout(()=>{console.log("TIMEOUT");process.exit(0)},10000);`;
      expect((await lab.inNetns(process.execPath, ["-e", script])).stdout.trim()).toBe(payload);
    });

    it("runs dnsmasq detached in the node; a query sent in the node's network namespace gets its answer", async () => {
      await lab.startInNode(
        [
          ...["dnsmasq", "--keep-in-foreground", "--user=root", "--no-resolv", "--no-hosts", "--bind-interfaces"],
          ...[`--listen-address=${lab.nodeIp}`, "--address=/lab.test/10.96.0.53"],
        ],
        { protocol: "udp", address: lab.nodeIp, port: 53 },
      );
      // An A query for lab.test, by hand: the answer's last four bytes are the address.
      const script = `const d=require("dgram").createSocket("udp4");const q=Buffer.from("123401000001000000000000036c616204746573740000010001","hex");d.on("message",(m)=>{console.log([...m.subarray(-4)].join("."));process.exit(0)});d.send(q,53,${JSON.stringify(lab.nodeIp)});setTimeout(()=>{console.log("TIMEOUT");process.exit(0)},5000);`;
      const answer = await lab.inNodeNetns(process.execPath, ["-e", script]);
      expect(answer.stdout.trim()).toBe("10.96.0.53");
    });

    it("refuses the direct path from the lab namespace to the node's bridge, while the published port works", async () => {
      expect(await lab.connect(lab.nodeIp, 22)).toBe("EHOSTUNREACH");
      const curl = await lab.inNetns("curl", ["-sS", "-m", "5", `telnet://${lab.nodeIp}:22`]);
      expect(curl.exitCode).toBe(7);
      expect(await lab.connect("127.0.0.1", lab.sshPort)).toMatch(/^SSH-2\.0-/);
      // Nothing of the lab on this machine's own network: no bridge, no rule.
      const id = (await docker("network", "inspect", "minikube", "--format", "{{.Id}}")).trim().slice(0, 12);
      expect((await run("ip", ["-o", "link", "show"])).stdout).not.toContain(`br-${id}`);
      expect((await lab.inNetns("ip", ["-o", "link", "show"])).stdout).toContain(`br-${id}`);
      expect((await run("iptables", ["-S", "OUTPUT"])).stdout).not.toContain(lab.netns);
    });

    it("publishes port 22 on a new host port after `docker restart`; SSH comes back with the same host keys", async () => {
      const keys = await pinHostKeys();
      const before = lab.sshPort;
      const after = await lab.restartNode();
      expect(after).not.toBe(before);
      expect(await lab.connect("127.0.0.1", before)).toBe("ECONNREFUSED");
      expect((await lab.exec(["cat", ...HOST_KEY_FILES])).stdout).toBe(keys);
      expect((await ssh(after, "id -un")).stdout).toBe("docker\n");
    });

    it("tears down leaving nothing running; a second start reuses the cached image", async () => {
      await lab.destroy();
      expect(await lab.leftovers()).toEqual([]);

      const warm = await DockerLab.start({ clientKeyPath: keyPath, profile: "second" });
      try {
        console.log(`[docker-lab] started again in ${describeTimings(warm.timings)}`);
        expect(warm.timings.image.built).toBe(false);
        expect(await warm.connect("127.0.0.1", warm.sshPort)).toMatch(/^SSH-2\.0-/);
      } finally {
        await warm.destroy();
      }
      expect(await warm.leftovers()).toEqual([]);
    }, 180_000);
  },
);
